export interface EnvironmentGeneratorSchema {
  name: string;
  from?: string;
  replicas?: number;
  namespace?: string;
  postgresqlCidrs?: string[];
  redisCidrs?: string[];
  force?: boolean;
}
