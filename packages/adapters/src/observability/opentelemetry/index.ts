/**
 * OpenTelemetry for Ordo. `@opentelemetry/api` is an optional peer dependency, loaded only by
 * this subpath.
 *
 * ```ts
 * import { openTelemetry } from '@ordo/adapters/opentelemetry';
 * const telemetry = openTelemetry(); // the global providers your SDK registered
 * const store = await openStore({ entities, telemetry, log: fileLog({ dir, fileSystem: telemetry.fileSystem(nodeFileSystem) }) });
 * const runtime = await createRuntime({ store, adapters, telemetry });
 * ```
 */
export { openTelemetry, type OpenTelemetryOptions, type OrdoOpenTelemetry } from './open-telemetry.js';
