export interface DoctorExecutorSchema {
  strict: boolean;
}
