import { CodeError } from '../../platform/errors.js';

export type DashboardErrorCode = 'DASHBOARD_NOT_BUILT' | 'DASHBOARD_STREAMS_FULL';

/** The dashboard's assets are missing (not built) or its live stream has no room for another viewer. */
export class DashboardError extends CodeError<DashboardErrorCode> {}
