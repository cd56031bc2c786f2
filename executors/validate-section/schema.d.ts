export interface ValidateSectionExecutorSchema {
  section?: string;
  mode?: 'off' | 'development' | 'production';
  reportDir?: string;
}
