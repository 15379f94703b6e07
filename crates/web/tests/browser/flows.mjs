// End-to-end browser tests of medinfra's web UI, run against the real binary:
//   MEDINFRA_BIN=target/debug/medinfra node flows.mjs
// It builds a demo data directory (`medinfra demo --no-serve`), starts `medinfra serve` on a
// free loopback port, and drives Debian's Chromium through Playwright (playwright-core) along
// every role's flow: a researcher applies, a reviewer approves, the researcher queries, saves
// a result, charts it and requests its release, the reviewer sees the suppressed cells and
// approves, the public downloads the released table; users without rights are refused. Every
// page visited is screenshotted into ARTIFACTS and checked for accessibility (axe-core,
// WCAG 2 A/AA: labels, contrast, ...; keyboard: skip link first, every focus visible).
// Exits non-zero on the first failed expectation.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = require("axe-core").source;

const bin = process.env.MEDINFRA_BIN;
if (!bin) throw new Error("set MEDINFRA_BIN to the medinfra binary");
const chromePath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = resolve(process.env.ARTIFACTS || "artifacts");
mkdirSync(artifacts, { recursive: true });

let failures = 0;
let checks = 0;
function expect(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
    throw new Error(what);
  }
}

async function freePort() {
  return new Promise((ok, err) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", err);
  });
}

// --- the data directory and the server ------------------------------------------------------
const dataDir = mkdtempSync(join(tmpdir(), "medinfra-ui-"));
console.log(`data directory ${dataDir}`);
const demo = spawnSync(bin, ["--data-dir", dataDir, "demo", "--no-serve", "--persons", "300"], {
  encoding: "utf8",
  maxBuffer: 64 << 20,
});
if (demo.status !== 0) {
  console.error(demo.stdout, demo.stderr);
  throw new Error("medinfra demo failed");
}
const passwords = {};
for (const line of demo.stdout.split("\n")) {
  const m = line.match(/^\s+(\S+)\s+(provider|operator|reviewer|authorized_user|researcher|auditor)\s+(demo-\S+)\s*$/);
  if (m) passwords[m[1]] = m[3];
}
expect(passwords.researcher && passwords.reviewer && passwords.auditor, "demo printed the accounts");

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(bin, ["--data-dir", dataDir, "serve", "--addr", `127.0.0.1:${port}`, "--pseudonymized-rows-per-day", "150"], {
  stdio: ["ignore", "inherit", "inherit"],
});
for (let i = 0; ; i++) {
  try {
    const r = await fetch(`${base}/api/openapi.json`);
    if (r.ok) break;
  } catch {}
  if (i > 100) throw new Error("server did not start");
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({
  executablePath: chromePath,
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});

// --- helpers ---------------------------------------------------------------------------------
let shot = 0;
const pagesChecked = new Set();

async function accessibility(page, name) {
  // Evaluated through the DevTools protocol: the pages' content security policy forbids
  // inline scripts, so axe-core cannot come in as a script tag.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const bad = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(bad.length === 0, `${name}: accessibility violations:\n  ${bad.join("\n  ")}`);
  // Keyboard: the first Tab reaches the skip link; every element Tab reaches shows focus.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.className || "");
  expect(first.includes("skip"), `${name}: the first Tab reaches the skip link (got "${first}")`);
  for (let i = 0; i < 25; i++) {
    const f = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      // A date input's focus is on one of its fields inside Chromium's own shadow tree, which
      // Chromium highlights itself; its host's outline cannot be read from here.
      if (e.type === "date") return { tag: "INPUT[date]", outline: "native", width: "native" };
      const s = getComputedStyle(e);
      return { tag: `${e.tagName}#${e.id}[${e.type || ""}]`, outline: s.outlineStyle, width: s.outlineWidth };
    });
    if (f === null) break;
    expect(f.outline !== "none" && f.width !== "0px", `${name}: focus visible on ${f.tag} (Tab ${i + 1}: outline ${f.outline} ${f.width})`);
    await page.keyboard.press("Tab");
  }
}

/// Go to a page, expect its status, screenshot it, check accessibility once per page kind.
async function visit(page, path, name, status = 200) {
  const resp = await page.goto(base + path);
  expect(resp.status() === status, `${name}: GET ${path} answered ${resp.status()}, expected ${status}`);
  await page.screenshot({ path: join(artifacts, `${String(++shot).padStart(2, "0")}-${name}.png`), fullPage: true });
  if (!pagesChecked.has(name)) {
    pagesChecked.add(name);
    await accessibility(page, name);
  }
  return resp;
}

async function signIn(name) {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await visit(page, "/ui/login", "sign-in");
  await page.fill("#username", name);
  await page.fill("#password", passwords[name]);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/ui`);
  expect((await page.textContent("[data-testid=whoami]")).trim() === name, `${name} is signed in`);
  return { context, page };
}

async function submitAndWait(page, selector = "main button[type=submit]") {
  await Promise.all([page.waitForLoadState("load"), page.click(selector)]);
}

try {
  // --- the public ----------------------------------------------------------------------------
  const publicContext = await browser.newContext({ locale: "ja-JP" });
  const pub = await publicContext.newPage();
  await visit(pub, "/ui", "home-public-ja");
  expect((await pub.getAttribute("html", "lang")) === "ja", "a Japanese browser gets Japanese first");
  await pub.click("header .who a[lang=en]");
  await pub.waitForLoadState("load");
  expect((await pub.getAttribute("html", "lang")) === "en", "the language switch gives English");
  await visit(pub, "/ui/catalog", "catalog-public");
  const catalogText = await pub.textContent("main");
  expect(catalogText.includes("demo-sample"), "the public sees the sample dataset");
  expect(!catalogText.includes("research-pseudonymized"), "the public never sees pseudonymized data listed");
  expect(!catalogText.includes("identified"), "the public never sees the identified zone");
  await visit(pub, "/ui/catalog/demo-sample?verify=1", "dataset-sample");
  expect((await pub.textContent("[data-testid=verify]")).includes("Verified"), "manifest verification shown");
  await visit(pub, "/ui/sample", "sample-workspace");
  await pub.fill("#sql", "SELECT sex, count(*) AS n FROM persons GROUP BY sex ORDER BY sex");
  await submitAndWait(pub);
  expect((await pub.locator("[data-testid=query-result] tbody tr").count()) >= 2, "a sample query returns rows to the public");
  // Refused pages for the public: sign-in first.
  for (const p of ["/ui/audit", "/ui/admin", "/ui/runs", "/ui/projects"]) {
    await pub.goto(base + p);
    expect(pub.url().endsWith("/ui/login"), `the public is sent to sign in from ${p}`);
  }
  const denied = await pub.goto(`${base}/ui/catalog/research-pseudonymized`);
  expect([401, 403].includes(denied.status()) || pub.url().endsWith("/ui/login"), "the public cannot open a pseudonymized dataset page");

  // Login CSRF: a sign-in form posted from another site is refused.
  const forged = await pub.request.post(`${base}/ui/login`, {
    form: { username: "researcher", password: passwords.researcher },
    headers: { Origin: "https://evil.example" },
    maxRedirects: 0,
  });
  expect(forged.status() === 403, `a cross-site sign-in is refused (got ${forged.status()})`);

  // --- a researcher applies --------------------------------------------------------------------
  const researcher = await signIn("researcher");
  const r = researcher.page;
  await visit(r, "/ui/applications/new", "application-new");
  await r.fill("#title", "Admitted patients by age and sex");
  await r.check("input[name=dataset][value=research-anonymized]");
  await r.fill("#purpose", "Describe admissions by area for regional planning.");
  await r.fill("#protocol", "Counts by age band and sex of the anonymized data; output checked before release.");
  await submitAndWait(r);
  if (!/\/ui\/applications\/\d+$/.test(r.url())) console.error(r.url(), await r.textContent("main"));
  expect(/\/ui\/applications\/\d+$/.test(r.url()), "submitting shows the new application");
  const appUrl = r.url();
  expect((await r.textContent("[data-testid=application-status]")).trim() === "submitted", "the application is submitted");
  await visit(r, "/ui/applications", "applications-researcher");

  // Without rights: the researcher may not administer, audit, or review.
  await visit(r, "/ui/admin", "admin-denied", 403);
  await visit(r, "/ui/audit", "audit-denied", 403);
  await visit(r, "/ui/releases", "releases-denied", 403);

  // --- a reviewer approves ---------------------------------------------------------------------
  const reviewer = await signIn("reviewer");
  const v = reviewer.page;
  await visit(v, appUrl.slice(base.length), "application-review");
  await v.check("#d-approve");
  await v.fill("#comment", "Approved for one year.");
  await submitAndWait(v);
  expect((await v.textContent("[data-testid=application-status]")).trim() === "approved", "the application is approved");
  const projectLink = v.locator("main a[href^='/ui/projects/']").first();
  const projectPath = await projectLink.getAttribute("href");
  expect(projectPath, "approval created a project");

  // --- the researcher queries, saves, charts and asks for release ------------------------------
  await visit(r, "/ui/projects", "projects");
  await visit(r, projectPath, "workspace");
  await r.fill("#sql", "SELECT age, sex, count(*) AS n FROM persons GROUP BY age, sex ORDER BY age, sex");
  await submitAndWait(r);
  if ((await r.locator("[data-testid=query-error]").count()) > 0) console.error(await r.textContent("[data-testid=query-error]"));
  expect((await r.locator("[data-testid=query-result] tbody tr").count()) > 0, "the project query returns rows");
  await r.fill("#save", "by_age_sex");
  await submitAndWait(r);
  expect(r.url().endsWith("/results/by_age_sex"), "saving shows the result");
  await visit(r, r.url().slice(base.length) + "?chart=bar&x=age&y=n", "result-chart");
  expect((await r.locator("[data-testid=chart] svg rect.bar").count()) > 0, "the bar chart is drawn");
  await r.goto(`${base}${projectPath}/results/by_age_sex?chart=histogram&x=age&y=n`);
  expect((await r.locator("[data-testid=chart] svg rect.bar").count()) > 0, "the histogram is drawn");
  // Release tables count the distinct persons behind each cell, so the release is asked for a
  // row-level result that keeps its person column (never a count column the requester made).
  await r.goto(`${base}${projectPath}`);
  await r.fill("#sql", "SELECT release_id, age, sex FROM persons");
  await r.fill("#save", "persons_age_sex");
  await submitAndWait(r);
  expect(r.url().endsWith("/results/persons_age_sex"), "the row-level result is saved");
  await r.fill("#rows", "age");
  await r.fill("#cols", "sex");
  await r.selectOption("#mitigation", "suppress");
  await r.click("form[action$='/releases'] button[type=submit]");
  await r.waitForURL(/\/ui\/releases\/.+/);
  const releasePath = r.url().slice(base.length);
  expect((await r.textContent("[data-testid=release-status]")).trim() === "pending", "the release request waits for review");
  expect((await r.locator("form[action$='/review']").count()) === 0, "the requester cannot review their own request");

  // Another authorized user of another organization cannot see the project.
  const other = await signIn("authorized2");
  await visit(other.page, projectPath, "workspace-denied", 403);
  await visit(other.page, releasePath, "release-denied", 403);

  // --- the reviewer sees the suppressed cells and approves ------------------------------------
  await visit(v, "/ui/releases", "releases-queue");
  expect((await v.locator(`a[href='${releasePath}']`).count()) === 1, "the request is in the reviewers' queue");
  await visit(v, releasePath, "release-review");
  const suppressed = await v.locator("[data-testid=release-cells] td.cell-primary, [data-testid=release-cells] td.cell-secondary").count();
  expect(suppressed > 0, "the reviewer sees suppressed cells highlighted");
  await v.check("#r-approve");
  await v.fill("#comment", "Small cells suppressed; fine to release.");
  await submitAndWait(v);
  expect((await v.textContent("[data-testid=release-status]")).trim() === "approved", "the release is approved");
  const releasedLink = await v.locator("a[href^='/ui/catalog/release-']").first().getAttribute("href");
  expect(releasedLink, "the approved table is a released dataset");

  // --- the public downloads the released table ---------------------------------------------
  await visit(pub, releasedLink, "released-dataset");
  const csvHref = await pub.locator("a[href^='/ui/csv/']").first().getAttribute("href");
  const csv = await (await pub.request.get(base + csvHref)).text();
  expect(csv.startsWith("row,col,value,state"), "the released table downloads as CSV");
  expect(!/\b[1-9],published/.test(csv.replace(/\r/g, "")), "no published count from 1 to 9 leaves");
  const parquet = await pub.request.get(base + (await pub.locator("a[href^='/api/']").first().getAttribute("href")));
  expect(parquet.ok() && (await parquet.body()).subarray(0, 4).toString() === "PAR1", "the released table downloads as Parquet");
  writeFileSync(join(artifacts, "released.csv"), csv);

  // --- a type II user sees pseudonymized rows inside, up to the daily volume -------------------
  const typeII = await signIn("authorized2");
  const a2 = typeII.page;
  await visit(a2, "/ui/applications/new", "application-new-type-ii");
  await a2.fill("#title", "Follow-up of admitted patients");
  await a2.selectOption("#tier", "pseudonymized");
  await a2.check("input[name=dataset][value=research-pseudonymized]");
  await a2.fill("#purpose", "Describe care after admission.");
  await a2.fill("#protocol", "Rows are read inside the workspace only; results leave through output checking.");
  await submitAndWait(a2);
  expect(/\/ui\/applications\/\d+$/.test(a2.url()), "the type II application is submitted");
  await visit(v, a2.url().slice(base.length), "application-review-type-ii");
  await v.check("#d-approve");
  await v.fill("#comment", "Approved.");
  await submitAndWait(v);
  const typeIIProject = await v.locator("main a[href^='/ui/projects/']").first().getAttribute("href");
  await visit(a2, typeIIProject, "workspace-type-ii");
  await a2.fill("#sql", "SELECT * FROM persons");
  await submitAndWait(a2);
  expect((await a2.locator("[data-testid=query-result] tbody tr").count()) === 100, "the first 100 pseudonymized rows are shown inside");
  expect((await a2.textContent("[data-testid=volume]")).includes("100 / 150"), "the page says how much of today's volume is used");
  await a2.fill("#sql", "SELECT * FROM persons");
  await submitAndWait(a2);
  await a2.screenshot({ path: join(artifacts, `${String(++shot).padStart(2, "0")}-workspace-volume-limit.png`), fullPage: true });
  await accessibility(a2, "workspace-volume-limit");
  expect((await a2.locator("[data-testid=query-result] tbody tr").count()) === 0, "past the daily volume no row is shown");
  expect((await a2.locator("[data-testid=volume-limit]").count()) === 1, "the limit is explained");

  // --- auditor and operator pages ---------------------------------------------------------------
  const auditor = await signIn("auditor");
  await visit(auditor.page, "/ui/audit", "audit");
  expect((await auditor.page.textContent("[data-testid=chain]")).includes("No tampering"), "the audit chain verifies");
  expect((await auditor.page.textContent("main")).includes("row_volume"), "the volume refusal is an alert in the audit log");
  await visit(auditor.page, "/ui/admin", "admin-denied-auditor", 403);
  const operator = await signIn("operator");
  await visit(operator.page, "/ui/admin", "admin");
  expect((await operator.page.textContent("main")).includes("DEMO-I-0001"), "operators see the authorizations");
  expect(!(await operator.page.content()).includes("demo-"+"secret"), "no key material on the admin page");
  await visit(operator.page, "/ui/runs", "runs");
  expect((await operator.page.locator("main progress").count()) > 0, "the demo's pipeline steps are listed with their progress");
  expect((await operator.page.textContent("main")).includes("quarantine.txt"), "the ingest quarantine reports are listed");
  await visit(operator.page, "/ui/catalog/demo-claims", "dataset-identified-operator");
  await visit(operator.page, "/ui/catalog", "catalog-operator");

  // Sign-out ends the session.
  await r.click("header form button[type=submit]");
  await r.waitForLoadState("load");
  await r.goto(`${base}${projectPath}`);
  expect(r.url().endsWith("/ui/login"), "after signing out the project needs a new sign-in");
} finally {
  await browser.close();
  server.kill("SIGTERM");
  // Let the server finish its shutdown (audit checkpoint) before removing its directory.
  await new Promise((ok) => server.once("exit", ok));
  if (!process.env.KEEP_DATA) rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
}
console.log(`browser tests: ${checks} checks, ${failures} failed, ${pagesChecked.size} pages checked for accessibility, ${shot} screenshots in ${artifacts}`);
process.exit(failures === 0 ? 0 : 1);
