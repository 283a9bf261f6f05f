/**
 * The logging hook shard code reports through: syslog priorities, as
 * ReplicatorContext.log has them, so one sink serves the runner and the
 * engine (in a worker it becomes a `log` message to the pool).
 */
export type LogPriority = 'err' | 'warning' | 'notice' | 'info' | 'debug';
export type LogFn = (priority: LogPriority, message: string) => void;

export const silentLog: LogFn = () => {};
