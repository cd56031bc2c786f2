export interface ValidateSectionExecutorSchema {
  section?: string;
  mode: 'development' | 'production';
  reportDir: string;
}
