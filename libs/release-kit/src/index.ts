export { assembleRelease } from './assemble';
export type { AssembleOptions, AssembleResult } from './assemble';
export { entryEpoch } from './determinism';
export { ReleaseError } from './errors';
export type { Skip } from './fragment';
export type { GeneratedFile } from './generated-files';
export { archiveNames, packageFolderName, PUBLIC_KEY_FILE } from './layout';
export { loadReleaseConfig } from './release-config';
export type { ReleaseConfig } from './release-config';
export { packSection } from './section-packer';
export type { PackSectionOptions } from './section-packer';
export { buildSbom, readNpmLock, SBOM_FILE } from './sbom';
export type { NpmDependency, SbomInput } from './sbom';
export { resolveSectionSources } from './section-sources';
export type { SourceMapping } from './section-sources';
export { developmentKeyPath, resolveSigner } from './signing';
export { verifyRelease } from './verify';
export { normaliseFingerprint } from './verifier/signature';
export type { VerifyOptions, VerifyReport } from './verify';
export { readVersion } from './version';
export { appendToJsonArray, readJsonArray } from './json-edit';
export { assertDnsLabel } from './scaffold-names';
export { deriveEnvTemplate, deriveOverlay, envTemplateKeys, ENVIRONMENT_PATHS, resolveNewEnvironment } from './environment-scaffold';
export type { NewEnvironment, ResolvedEnvironment } from './environment-scaffold';
export { SECTION_PATHS, sectionProjectJson, sectionReadme } from './section-scaffold';
export {
  applyVersionBump,
  dockerTags,
  groupCommits,
  nextVersion,
  parseConventionalCommit,
  parseVersionText,
  planVersionBump,
  readVersionHistory,
  releaseNotesSource,
  renderReleaseNotes,
  tagMessage,
  VERSION_BUMPS,
  versionTag,
} from './versioning';
export type { CommitMessage, DockerTagOptions, GroupedChanges, VersionBump, VersionHistory, VersionPlan, VersionRequest } from './versioning';
export { validateSection, formatFinding, SECTION_CHECKS } from './validation/validate-section';
export type { ValidateSectionOptions, ValidationReport } from './validation/validate-section';
export type { Finding, Mode as ValidationMode } from './validation/findings';
export { assertToolchain, doctor, formatDoctor, DOCTOR_TOOLS, TOOLS } from './validation/tools';
export type { ToolReport } from './validation/tools';
export { ARTIFACT_SET_FILE, readArtifactSet, resolveArtifacts, writeArtifactSet } from './artifact-set';
export type { ArtifactFile, ArtifactMapping, ArtifactSet } from './artifact-set';
export { buildAndSaveImage, BuildTranscript, dockerClient, imageLabels, imageTarballName, IMAGE_REPOSITORY, sourceRevision } from './docker-image';
export type { ImageBuildOptions, ImageBuildResult } from './docker-image';
export { exportCommand, exportGodotProject, findGodot, logErrors, parseExportPresets, parseGodotVersion } from './godot';
export type { ExportMode, GodotExportOptions, GodotExportResult } from './godot';
export { resolvePackageSource } from './report/package-source';
export { diffReleases } from './report/release-diff';
export type { ReleaseDiff } from './report/release-diff';
export { diffMarkdown } from './report/markdown';
export { DEFAULT_PROFILE, recordTaskGraph, TASK_GRAPH_FILE } from './report/task-graph';
export { REPORT_FILE, writeReleaseReport } from './report/release-report';
export { writeAtomically } from './report/write-atomically';
export { DEFAULT_PART_SIZE, publishRelease } from './publish/publish';
export type { PublishOptions } from './publish/publish';
export { defaultArtifactRepo } from './publish/artifact-repository';
