export interface SectionGeneratorSchema {
  name: string;
}
