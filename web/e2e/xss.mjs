// Stored XSS (issue 16): payloads stored through the API in every text a user writes
// (test title, description, procedure, command, target, worklog note; template name,
// description, command; detection rule title, description, query, raw text,
// references; campaign name and description), then every page that shows them is
// opened in a real Chromium. Nothing may execute: no dialog, window.__xss never set,
// no element or javascript: link made from the payload, no CSP report of an inline
// script or handler (which would mean the app put the payload into the DOM as HTML
// and only the CSP stopped it). The payload text must be on the page as text.
// Started by web/xss_test.go with AEGIS_URL, E2E_USER and E2E_PASSWORD.
import { chromium } from "playwright-core";

const BASE = process.env.AEGIS_URL;
const USER = process.env.E2E_USER;
const PASSWORD = process.env.E2E_PASSWORD;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

// Each payload starts with a marker the checks look for as text.
const payload = (n) =>
  `XSS${n} <img src=x onerror="window.__xss='img${n}'"> <script>window.__xss='script${n}'</script> ` +
  `"><svg onload="alert('svg${n}')"></svg> [link](javascript:alert('md${n}')) <a href="javascript:alert('a${n}')">a${n}</a>`;
// Names of at most 200 characters (campaigns) get the first part only.
const short = (n) => `XSS${n} <img src=x onerror="window.__xss='img${n}'"> <script>window.__xss='script${n}'</script>`;
const JS_URL = "javascript:alert('ref')";

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
});
const failures = [];
const checks = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  const dialogs = [];
  const consoleErrors = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));

  // Sign in through the API: the context keeps the session cookie for the pages.
  const api = ctx.request;
  let res = await api.post(BASE + "/api/v1/auth/login", { data: { username: USER, password: PASSWORD } });
  if (!res.ok()) throw new Error(`sign-in: ${res.status()} ${await res.text()}`);
  const info = await res.json();
  const csrf = info.csrf_token;
  if (info.user?.must_change_password) {
    // An account made by an administrator changes its first password before anything else.
    const r = await api.post(BASE + "/api/v1/auth/password", {
      data: { current_password: PASSWORD, new_password: PASSWORD + "-changed" }, headers: { "X-CSRF-Token": csrf },
    });
    if (!r.ok()) throw new Error(`password change: ${r.status()} ${await r.text()}`);
  }
  const call = async (method, path, data) => {
    const r = await api.fetch(BASE + path, { method, data, headers: { "X-CSRF-Token": csrf } });
    if (!r.ok()) throw new Error(`${method} ${path}: ${r.status()} ${await r.text()}`);
    return r.json();
  };

  const tmpl = await call("POST", "/api/v1/templates", {
    name: payload(1), description: payload(2), command: payload(3), technique_ids: ["T1059"], platforms: ["windows"],
  });
  const rule = await call("POST", "/api/v1/detection-rules", {
    title: payload(4), description: payload(5), query: payload(6), raw: payload(7), technique_ids: ["T1059"],
    references: [JS_URL], tags: [payload(8).slice(0, 200)],
  });
  const test = await call("POST", "/api/v1/tests", {
    title: payload(9), description: payload(10), procedure: payload(11), command: payload(12), target: payload(13).slice(0, 400),
    technique_id: "T1059",
  });
  await call("POST", `/api/v1/tests/${test.id}/worklogs`, { minutes: 5, activity: short(14), note: payload(14) });
  const campaign = await call("POST", "/api/v1/campaigns", { name: short(15), description: payload(16) });

  await page.addInitScript(() => {
    window.__xss = undefined;
  });
  const visit = async (path, marker, open, asText = true) => {
    await page.goto(BASE + path);
    await page.getByText(marker).first().waitFor({ timeout: 20_000 });
    if (open) await open();
    await page.waitForLoadState("networkidle");
    const found = await page.evaluate(() => ({
      flag: window.__xss,
      imgs: document.querySelectorAll('img[src="x"]').length,
      scripts: [...document.scripts].filter((s) => s.textContent.includes("__xss")).length,
      svgs: document.querySelectorAll("svg[onload]").length,
      jsLinks: [...document.querySelectorAll("a[href]")].filter((a) => /^\s*javascript:/i.test(a.getAttribute("href"))).length,
      text: document.body.innerText,
    }));
    const problems = [];
    if (found.flag !== undefined) problems.push(`window.__xss = ${found.flag}`);
    if (found.imgs || found.scripts || found.svgs) problems.push(`payload elements in the DOM: img ${found.imgs} script ${found.scripts} svg ${found.svgs}`);
    if (found.jsLinks) problems.push(`${found.jsLinks} javascript: link(s)`);
    if (asText && !found.text.includes(`${marker} <img src=x onerror=`)) problems.push(`the payload ${marker} is not shown as text`);
    if (dialogs.length) problems.push(`dialogs: ${dialogs.join(", ")}`);
    const csp = consoleErrors.filter((e) => /Content Security Policy|inline/i.test(e));
    if (csp.length) problems.push(`CSP refused something (the app made HTML of the payload): ${csp.join(" | ")}`);
    if (problems.length) failures.push(`${path}: ${problems.join("; ")}`);
    else checks.push(`${path} shows ${marker} as text, nothing ran`);
    dialogs.length = 0;
    consoleErrors.length = 0;
  };

  await visit(`/tests/${test.id}`, "XSS9");
  await visit(`/tests/${test.id}`, "XSS14");
  await visit("/tests", "XSS9");
  await visit("/catalog/templates", "XSS1", async () => {
    await page.getByText("XSS1").first().click();
    await page.getByText("XSS2").first().waitFor({ timeout: 10_000 }).catch(() => {});
  });
  await visit("/catalog/rules", "XSS4", async () => {
    await page.getByText("XSS4").first().click();
    await page.getByText("XSS5").first().waitFor({ timeout: 10_000 }).catch(() => {});
  });
  await visit("/techniques/T1059", "XSS1");
  await visit(`/campaigns/${campaign.id}`, "XSS15");
  await visit("/campaigns", "XSS15");
  // The audit log shows the stored texts inside its entries' details, quoted as JSON.
  await visit("/system/audit", "XSS", null, false);
  if (!tmpl.id || !rule.id) failures.push("the template or rule was not created");
} catch (e) {
  failures.push(`run: ${e.stack ?? e}`);
} finally {
  await browser.close();
}
for (const c of checks) console.log("ok:", c);
if (failures.length) {
  for (const f of failures) console.error("FAIL:", f);
  process.exit(1);
}
console.log(`xss: ${checks.length} pages checked, nothing executed`);
