import 'reflect-metadata';
import { ConfigError, describeConfig, loadAppConfig } from '@app/common/config';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { BenchProbeModule } from './bench-probe/bench-probe.module';
import { createApp } from './bootstrap/create-app';

async function main(): Promise<void> {
  let config;
  try {
    config = loadAppConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      // One line naming the variable, and a non-zero exit: a misconfigured instance never serves.
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // The benchmark's probe routes (npm run bench), never in production.
  const probes = process.env.BENCH_PROBES === 'true' && !config.isProduction ? [BenchProbeModule] : [];
  const app = await createApp(config, undefined, probes);
  await app.listen(config.http.port, config.http.host);
  const logger = app.get<AppLogger>(APP_LOGGER);
  // Graceful stop: finish in-flight requests, close the pools (and the embedded database, which
  // must be closed cleanly to keep its files consistent), then exit 0.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'error while shutting down');
          process.exit(1);
        },
      );
    });
  }
  logger.info({ url: `http://localhost:${config.http.port}/api/v1` }, `listening; ${describeConfig(config)}`);
}

main().catch((err) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
