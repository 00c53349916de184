// Test helper: builds dist/dashboard with the real build step (scripts/build-steps/20-dashboard.mjs),
// so the tests serve what an install serves, and never a stale copy of the page.
const STEP = new URL('../../../scripts/build-steps/20-dashboard.mjs', import.meta.url);

export async function buildDashboard(): Promise<string> {
  const mod = (await import(STEP.href)) as { default: (o?: { quiet?: boolean }) => Promise<string> };
  return mod.default({ quiet: true });
}
