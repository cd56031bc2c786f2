export interface DoctorExecutorSchema {
  production: boolean;
  strict: boolean;
  json: boolean;
}
