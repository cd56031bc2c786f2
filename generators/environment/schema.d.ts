export interface EnvironmentGeneratorSchema {
  name: string;
  from?: string;
  replicas?: number;
  namespace?: string;
  force?: boolean;
}
