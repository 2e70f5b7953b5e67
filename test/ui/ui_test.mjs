// Clicks through posml's web UI in headless Chromium and saves a screenshot
// of each page. Run by internal/web's TestBrowser against a seeded server:
//
//   POSML_URL=http://127.0.0.1:PORT SCREENSHOT_DIR=/tmp/shots node ui_test.mjs
//
// Prints "N passed, M failed" and exits non-zero when anything failed.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.POSML_URL;
if (!base) {
  console.error("POSML_URL is not set");
  process.exit(2);
}
const shots = process.env.SCREENSHOT_DIR || join(import.meta.dirname, "screenshots");
mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "posml-chromium-"));

// A fresh profile directory each run (Playwright passes it as --user-data-dir).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1366, height: 900 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(10000);
const problems = [];
page.on("pageerror", (e) => problems.push("page error: " + e.message));
let expect400 = false; // a bad filter is answered 400, which Chromium logs
let expect401 = false; // so is a wrong password, 401
page.on("console", (m) => {
  if (m.type() !== "error") return;
  if (expect400 && m.text().includes("status of 400")) return;
  if (expect401 && m.text().includes("status of 401")) return;
  problems.push("console error: " + m.text());
});
page.on("requestfailed", (r) => {
  const why = r.failure()?.errorText ?? "";
  // Leaving a pipeline run page closes its log stream (server-sent events).
  if (r.url().includes("/logs?follow=1") && why.includes("ERR_ABORTED")) return;
  problems.push("request failed: " + r.url() + " " + why);
});
const loginBase = process.env.POSML_LOGIN_URL; // a UI that requires a login (the last steps)
page.on("request", (r) => {
  const u = r.url();
  if (!u.startsWith(base) && !(loginBase && u.startsWith(loginBase)) && !u.startsWith("data:")) problems.push("request off the server: " + u);
});

let passed = 0, failed = 0;
async function step(name, f) {
  const before = problems.length;
  try {
    await f();
    if (problems.length > before) throw new Error(problems.slice(before).join("; "));
    passed++;
    console.log("ok   " + name);
  } catch (e) {
    failed++;
    console.log("FAIL " + name + ": " + (e && e.message ? e.message.split("\n")[0] : e));
  }
}
function expect(cond, msg) { if (!cond) throw new Error(msg); }
async function shot(name) { await page.screenshot({ path: join(shots, name + ".png"), fullPage: true }); }

// Waits until every chart in the page is drawn (or failed), returns the
// number of points each drew.
async function chartsDrawn() {
  await page.waitForFunction(() => {
    const plots = [...document.querySelectorAll("[data-chart]")];
    plots.forEach((p) => p.scrollIntoView());
    return plots.length > 0 && plots.every((p) => p.dataset.drawn || p.querySelector(".error"));
  }, null, { timeout: 15000 });
  return page.$$eval("[data-chart]", (ps) => ps.map((p) => ({ key: p.dataset.title, drawn: Number(p.dataset.drawn || -1), canvas: !!p.querySelector("canvas") })));
}

await step("experiments page lists the seeded experiment", async () => {
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "Experiments" }).waitFor();
  await page.getByRole("link", { name: "churn", exact: true }).waitFor();
  await shot("1-experiments");
});

await step("keyboard: the first Tab reaches the skip link, which moves focus to the content", async () => {
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement?.textContent) === "Skip to content", "first focus is not the skip link");
  await page.keyboard.press("Enter");
  expect(await page.evaluate(() => document.activeElement?.id) === "main", "skip link did not move focus to main");
});

await step("runs table: paginated, status chips, metric columns", async () => {
  await page.getByRole("link", { name: "churn", exact: true }).click();
  await page.getByRole("heading", { name: "churn" }).waitFor();
  const rows = await page.locator("table.runs tbody tr").count();
  expect(rows === 30, `rows = ${rows}`);
  expect(await page.locator(".chip-bad").count() > 0, "no failed chip");
  expect(await page.getByRole("columnheader", { name: /rmse/ }).count() === 1, "no rmse column");
  await shot("2-runs");
});

await step("filter errors show inline, a good filter narrows the table", async () => {
  expect400 = true;
  const box = page.getByLabel("Filter runs");
  await box.fill("metrics.rmse <<< 1");
  await box.press("Enter");
  await page.getByRole("alert").waitFor();
  expect((await page.getByRole("alert").textContent()).includes("Invalid comparator"), "no grammar error shown");
  await shot("3-filter-error");
  expect400 = false;
  await page.getByLabel("Filter runs").fill("params.alpha = '0.5' and metrics.rmse < 0.9");
  await page.getByLabel("Filter runs").press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("table.runs tbody tr").length === 6);
  expect(new URL(page.url()).searchParams.get("filter").startsWith("params.alpha"), "filter not in the URL");
});

await step("sorting by a metric column", async () => {
  await page.goto(base + "/");
  await page.getByRole("link", { name: "churn", exact: true }).click();
  await page.getByRole("columnheader", { name: /rmse/ }).getByRole("link").click();
  await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"] a')?.textContent.includes("rmse"));
  const first = await page.locator("table.runs tbody tr th a").first().textContent();
  expect(first === "run-00", `first row after rmse DESC = ${first}`);
});

await step("run page: params, metrics and a drawn chart of the 100 000-point metric", async () => {
  await page.goto(base + "/");
  await page.getByRole("link", { name: "churn", exact: true }).click();
  await page.getByRole("link", { name: "run-29" }).click();
  await page.getByRole("heading", { name: /run-29/ }).waitFor();
  expect(await page.getByRole("rowheader", { name: "alpha" }).count() === 1, "no alpha param");
  const t0 = Date.now();
  const charts = await chartsDrawn();
  const long = charts.find((c) => c.key === "train_loss");
  expect(long && long.canvas && long.drawn > 1000 && long.drawn <= 2000, "train_loss chart: " + JSON.stringify(long));
  console.log(`     charts drawn in ${Date.now() - t0} ms: ${JSON.stringify(charts)}`);
  await page.locator("#chart-train_loss").scrollIntoViewIfNeeded();
  await shot("4-run");
});

await step("artifacts: text preview, folder, image preview, download link", async () => {
  await page.getByRole("link", { name: "notes.txt" }).click();
  await page.locator("#preview pre").waitFor();
  expect((await page.locator("#preview pre").textContent()).includes("hello <b>artifacts</b>"), "text preview");
  const href = await page.locator("#preview").getByRole("link", { name: "Download" }).getAttribute("href");
  expect(href.startsWith("/api/2.0/mlflow-artifacts/artifacts/"), "download link " + href);
  const dl = await page.request.get(base + href);
  expect(dl.ok() && (await dl.text()).startsWith("hello"), "download failed");
  await page.getByRole("link", { name: "plots/" }).click();
  await page.getByRole("link", { name: "curve.png" }).click();
  const img = page.locator("#preview img");
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector("#preview img")?.naturalWidth > 0);
  await page.locator("#artifacts-h").scrollIntoViewIfNeeded();
  await shot("5-artifacts");
});

await step("compare two runs: overlaid charts and params side by side", async () => {
  await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "churn" }).click();
  await page.getByRole("checkbox", { name: "Compare run-00" }).check();
  const button = page.getByRole("button", { name: /Compare/ });
  expect(await button.isDisabled(), "compare enabled with one run");
  await page.getByRole("checkbox", { name: "Compare run-01" }).check();
  await button.click();
  await page.getByRole("heading", { name: "Compare 2 runs" }).waitFor();
  const charts = await chartsDrawn();
  expect(charts.length === 3 && charts.every((c) => c.canvas), "compare charts: " + JSON.stringify(charts));
  const series = await page.locator(".chart").first().locator(".u-legend .u-series").count();
  expect(series === 3, `legend entries = ${series}; want step + 2 runs`);
  expect(await page.locator("tr.differ").count() > 0, "no differing row marked");
  await shot("6-compare");
});

await step("the back button returns to the runs table, and forward redraws the charts", async () => {
  await page.goBack();
  await page.getByRole("heading", { name: "churn", exact: true }).waitFor();
  expect(await page.locator("table.runs tbody tr").count() === 30, "runs table after back");
  await page.goForward();
  await page.getByRole("heading", { name: "Compare 2 runs" }).waitFor();
  const charts = await chartsDrawn();
  expect(charts.every((c) => c.canvas && c.drawn > 0), "charts after forward: " + JSON.stringify(charts));
});

await step("models list shows versions and the champion alias", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Models" }).click();
  await page.getByRole("heading", { name: "Registered models" }).waitFor();
  expect((await page.locator(".alias.champion").first().textContent()).includes("@champion → v2"), "champion alias");
  await shot("7-models");
});

await step("model page: versions with source runs, champion timeline", async () => {
  await page.getByRole("link", { name: "churn-model" }).click();
  await page.getByRole("heading", { name: "Champion timeline" }).waitFor();
  const items = await page.locator("section[aria-labelledby=champion-h] li").allTextContents();
  expect(items.length === 2 && items[0].includes("@champion → version 2 (was version 1)"), "timeline: " + items.join(" | "));
  const versions = page.locator("section[aria-labelledby=versions-h] table tbody tr");
  expect(await versions.count() === 3, "versions table");
  await shot("8-model");
  await versions.last().locator('a[href^="/runs/"]').click();
  await page.getByRole("heading", { name: /run-00/ }).waitFor();
});

await step("projects page: status, validation, next fires in zone and UTC, run chips with their state", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  const row = page.locator("table.projects tbody tr").filter({ has: page.getByRole("link", { name: "churn", exact: true }) });
  expect((await row.textContent()).includes("active"), "no active status");
  expect((await row.textContent()).includes("UTC"), "no UTC next fire");
  const chips = await row.locator("ul.chips a").allTextContents();
  expect(chips.includes("running") && chips.includes("failed") && chips.includes("succeeded"), "chips: " + chips.join(","));
  expect((await page.locator("table.projects tbody tr").filter({ hasText: "batch" }).textContent()).includes("paused"), "batch not paused");
  await shot("9-projects");
});

await step("project page: config, schedule preview with DST marks, runs, buttons", async () => {
  await page.getByRole("link", { name: "churn", exact: true }).click();
  await page.getByRole("heading", { name: "Schedule preview" }).waitFor();
  expect(await page.locator("tr.dst").count() > 0, "no DST mark");
  expect(await page.getByRole("button", { name: "Pause" }).count() === 1, "no pause button");
  expect(await page.locator("ul.findings li").count() === 1, "validation findings");
  await shot("10-project");
});

await step("pipeline run page: state, attempts, and the log follows as it grows", async () => {
  await page.locator("table.pruns").getByRole("link", { name: /^#/ }).first().click();
  await page.getByRole("heading", { name: /Pipeline run #/ }).waitFor();
  expect((await page.locator("h1 .chip").textContent()) === "running", "not running");
  const log = page.locator("pre#log");
  await page.waitForFunction(() => document.querySelector("pre#log")?.textContent.includes("epoch 1 auc=0.49"));
  const before = Number(await log.getAttribute("data-lines"));
  await page.waitForFunction((n) => Number(document.querySelector("pre#log")?.dataset.lines) > n + 2 && document.querySelector("pre#log").textContent.includes("tick"), before, { timeout: 10000 });
  expect(await page.getByRole("button", { name: "Cancel" }).count() === 1, "no cancel button");
  await log.scrollIntoViewIfNeeded();
  await shot("11-pipeline-run");
});

await step("a finished run: promotion decision with both scores, mart read, MLflow runs, whole log", async () => {
  await page.goto(base + "/pipeline-runs?project=churn&state=succeeded");
  await page.locator("table.pruns").getByRole("link", { name: /^#/ }).first().click();
  await page.getByRole("heading", { name: "Promotion" }).waitFor();
  const row = await page.locator("table.decisions tbody tr").first().textContent();
  expect(row.includes("0.51") && row.includes("0.5") && row.includes("registered"), "decision: " + row);
  await page.waitForFunction(() => document.querySelector("pre#log")?.dataset.ended === "succeeded");
  expect((await page.locator("pre#log").textContent()).includes("registered churn-model version 2"), "log");
  await shot("12-pipeline-run-done");
});

await step("run now queues a run and shows it; the runs list filters by state", async () => {
  await page.goto(base + "/projects/churn");
  await page.getByRole("button", { name: "Run train now" }).click();
  await page.waitForFunction(() => document.querySelector("h1 .chip")?.textContent === "queued");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Pipeline runs" }).click();
  await page.getByLabel("State").selectOption("failed");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get("state") === "failed");
  const states = await page.locator("table.pruns tbody tr .chip").allTextContents();
  expect(states.length === 1 && states[0] === "failed", "filtered states: " + states.join(","));
  await shot("13-pipeline-runs");
});

await step("backfill from the project page queues a run per logical date", async () => {
  await page.goto(base + "/projects/churn");
  await page.getByText("Backfill…").click();
  await page.getByLabel("First day").fill("2026-01-01");
  await page.getByLabel("Last day").fill("2026-03-31");
  await page.getByRole("button", { name: "Queue backfill" }).click();
  await page.getByRole("status").filter({ hasText: "Backfill: 2 runs queued" }).waitFor();
  const causes = await page.locator("table.pruns tbody tr td:nth-child(5)").allTextContents();
  expect(causes.filter((c) => c === "backfill").length === 2, "causes: " + causes.join(","));
  await shot("13b-backfill");
});

await step("model version lineage: version → MLflow run → pipeline run → commit + mart snapshot", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Models" }).click();
  await page.getByRole("link", { name: "churn-model" }).click();
  await page.getByRole("link", { name: "Lineage of v2" }).click();
  await page.getByRole("heading", { name: "Lineage of churn-model v2" }).waitFor();
  const text = await page.locator("ol.lineage").textContent();
  expect(text.includes("run-01") && text.includes("Pipeline run") && text.includes("Train on the iris mart") && text.includes("iris"), "lineage: " + text);
  await shot("14-lineage");
  await page.locator("ol.lineage").getByRole("link", { name: "iris" }).click();
  await page.getByRole("heading", { name: "First rows of v1" }).waitFor();
  const rows = await page.locator("table.preview-rows tbody tr").count();
  expect(rows === 20, `preview rows = ${rows}`);
  await shot("15-mart");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Marts" }).click();
  await page.getByRole("heading", { name: "Data marts" }).waitFor();
  await shot("16-marts");
});

if (loginBase) {
  await step("login: a page sends to the login form; a wrong password is refused; the right one returns to the page", async () => {
    await page.goto(loginBase + "/models");
    expect(page.url() === loginBase + "/login?next=%2Fmodels", "redirected to " + page.url());
    await page.getByLabel("User name").fill("alice");
    await page.getByLabel("Password").fill("not her password");
    expect401 = true;
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong user name or password." }).waitFor();
    expect401 = false;
    expect(await page.getByLabel("User name").inputValue() === "alice", "the name is kept");
    await shot("17-login-wrong-password");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(loginBase + "/models");
    await page.getByRole("heading", { name: "Registered models" }).waitFor();
    const cookies = await context.cookies(loginBase);
    const session = cookies.find((c) => c.name === "posml_session");
    expect(session && session.httpOnly && session.sameSite === "Lax", "session cookie: " + JSON.stringify(session));
  });

  await step("account: shows who is signed in; logging out ends the session", async () => {
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByText("Signed in as alice").waitFor();
    await shot("18-account");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await page.goto(loginBase + "/models");
    expect(page.url().startsWith(loginBase + "/login"), "after logout /models shows " + page.url());
  });
}

await context.close();
rmSync(profile, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
console.log("screenshots in " + shots);
process.exit(failed ? 1 : 0);
