// The sluice-payments tests on clarinet-sdk's simnet (the Clarity VM in Node). Each test starts
// from a fresh simnet session (initBeforeEach). One fork: the machine's cores are shared.
import { defineConfig } from "vitest/config";
import { vitestSetupFilePath } from "@stacks/clarinet-sdk/vitest";

export default defineConfig({
  // Vite's cache in the repository's node_modules, not contracts/stacks/node_modules (which Ape
  // and `sluice contracts build` would walk).
  cacheDir: "../../node_modules/.vite-stacks",
  test: {
    environment: "clarinet",
    pool: "forks",
    poolOptions: { forks: { singleFork: true } },
    setupFiles: [vitestSetupFilePath],
    include: ["tests/**/*.test.mjs"],
    testTimeout: 120_000,
    // simnet echoes every print event to the console: keep it for failing tests only.
    silent: "passed-only",
    environmentOptions: {
      clarinet: { manifestPath: "./Clarinet.toml", initBeforeEach: true, coverage: false, costs: false },
    },
  },
});
