// Builds the whole hostile corpus from one genuine package.
import { CaseFolders, Genuine, HostileCase } from './corpus';
import { packageCases, PackageCaseKeys } from './package-cases';
import { provenanceCases } from './provenance-cases';
import { tarCases } from './tar-cases';
import { zipCases } from './zip-cases';

/** Every hostile case, written under `out` (one folder each), made from the genuine package. */
export async function hostileCorpus(genuine: Genuine, out: string, keys: PackageCaseKeys): Promise<HostileCase[]> {
  const folders = new CaseFolders(out, genuine);
  return [...tarCases(folders), ...zipCases(folders), ...(await packageCases(folders, keys)), ...(await provenanceCases(folders, keys))];
}
