#!/usr/bin/env node
// Loads a page in Debian's headless Chromium (driven by playwright-core), waits until the page
// says it has loaded, saves a full-page screenshot and prints what a person would see as JSON.
//
//   node page_check.mjs URL SCREENSHOT_PNG [--wait-selector SEL] [--width 390] [--height 844]
//                       [--timeout-ms 20000] [--fill SEL TEXT]
//
// --fill types TEXT into the input SEL once the page has loaded (as a person would, firing its
// input events), and waits until body[data-busy] is gone (the page's answer is drawn), before
// the screenshot and the JSON.
// stdout (exit 0): one JSON object
//   {"title": document.title,
//    "text": document.body.innerText,
//    "tests": {<data-test attribute>: <that element's innerText, trimmed>, ...},
//    "console_errors": [...],          console.error messages, uncaught page errors, requests that
//                                      failed ("request failed: ...") or got HTTP >= 400 ("HTTP 404: ...")
//    "horizontal_overflow": bool}      document.documentElement.scrollWidth > window.innerWidth
// A data-test value carried by more than one element maps to an array of their texts, in
// document order.
// Exit 1, with the reason on stderr, when the browser cannot start, the page cannot be loaded (or
// answers HTTP >= 400), or the selector (default body[data-loaded="true"]) does not exist within
// the timeout; a screenshot of whatever was shown is still attempted then.
// Exit 2 on bad usage.
// CHROMIUM_PATH overrides the browser binary (default /usr/bin/chromium, Debian's package).
import { chromium } from 'playwright-core';

const USAGE =
  'usage: node page_check.mjs URL SCREENSHOT_PNG [--wait-selector SEL] [--width N] [--height N] [--timeout-ms N] [--fill SEL TEXT]';

function parseArgs(argv) {
  const opts = { waitSelector: 'body[data-loaded="true"]', width: 390, height: 844, timeoutMs: 20000 };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const positiveInt = (s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} needs a positive integer, got ${s}`);
      return n;
    };
    if (a === '--wait-selector') opts.waitSelector = value();
    else if (a === '--width') opts.width = positiveInt(value());
    else if (a === '--height') opts.height = positiveInt(value());
    else if (a === '--timeout-ms') opts.timeoutMs = positiveInt(value());
    else if (a === '--fill') opts.fill = [value(), value()];
    else if (a === '-h' || a === '--help') { process.stdout.write(USAGE + '\n'); process.exit(0); }
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) throw new Error('URL and SCREENSHOT_PNG are required');
  [opts.url, opts.screenshot] = positional;
  return opts;
}

function fail(msg, consoleErrors) {
  let out = `page_check: ${msg}\n`;
  if (consoleErrors && consoleErrors.length) {
    out += 'page_check: console errors so far:\n' + consoleErrors.map((e) => `  ${e}\n`).join('');
  }
  process.stderr.write(out);
  process.exitCode = 1;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`page_check: ${e.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }

  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  let browser;
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      // --no-sandbox: the tests run as root. --disable-dev-shm-usage: keeps Chromium working
      // where /dev/shm is small (containers); it then uses /tmp.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
      timeout: 30000,
    });
  } catch (e) {
    fail(`cannot start ${executablePath}: ${e.message}`);
    return;
  }

  const consoleErrors = [];
  try {
    const context = await browser.newContext({
      viewport: { width: opts.width, height: opts.height },
      deviceScaleFactor: 1,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(opts.timeoutMs);

    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // Chromium's own "Failed to load resource: ..." lines repeat what the request listeners
      // below report with method and URL; the only ones they alone would add are for
      // /favicon.ico, which the browser asks for by itself.
      if (msg.text().startsWith('Failed to load resource:')) return;
      const loc = msg.location();
      const where = loc && loc.url ? ` (${loc.url}${loc.lineNumber ? `:${loc.lineNumber}` : ''})` : '';
      consoleErrors.push(`console.error: ${msg.text()}${where}`);
    });
    page.on('pageerror', (err) => {
      consoleErrors.push(`page error: ${err.name || 'Error'}: ${err.message}`);
    });
    page.on('requestfailed', (req) => {
      const f = req.failure();
      consoleErrors.push(`request failed: ${req.method()} ${req.url()}: ${f ? f.errorText : 'unknown error'}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400) {
        consoleErrors.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
      }
    });

    const screenshot = async () => {
      try {
        await page.screenshot({ path: opts.screenshot, fullPage: true, timeout: 10000 });
      } catch (e) {
        process.stderr.write(`page_check: screenshot failed: ${e.message}\n`);
      }
    };

    let response;
    try {
      response = await page.goto(opts.url, { waitUntil: 'domcontentloaded', timeout: opts.timeoutMs });
    } catch (e) {
      fail(`cannot load ${opts.url}: ${e.message.split('\n')[0]}`, consoleErrors);
      return;
    }
    if (response && response.status() >= 400) {
      await screenshot();
      fail(`${opts.url} answered HTTP ${response.status()}`, consoleErrors);
      return;
    }

    try {
      await page.waitForSelector(opts.waitSelector, { state: 'attached', timeout: opts.timeoutMs });
    } catch (e) {
      await screenshot();
      fail(`timed out after ${opts.timeoutMs / 1000} s waiting for selector ${opts.waitSelector} ` +
        `on ${opts.url} (screenshot of what was shown: ${opts.screenshot})`, consoleErrors);
      return;
    }

    if (opts.fill) {
      await page.fill(opts.fill[0], opts.fill[1]);
      // A page that asks its server for the answer marks body[data-busy] until it is drawn.
      await page.waitForSelector('body:not([data-busy])', { state: 'attached', timeout: opts.timeoutMs });
    }

    // Let a render triggered by the same task as the marker reach the screen.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

    await page.screenshot({ path: opts.screenshot, fullPage: true });

    const seen = await page.evaluate(() => {
      const tests = {};
      for (const el of document.querySelectorAll('[data-test]')) {
        const key = el.getAttribute('data-test');
        const text = (el.innerText ?? el.textContent ?? '').trim();
        if (!Object.prototype.hasOwnProperty.call(tests, key)) tests[key] = text;
        else if (Array.isArray(tests[key])) tests[key].push(text);
        else tests[key] = [tests[key], text];
      }
      return {
        title: document.title,
        text: document.body ? document.body.innerText : '',
        tests,
        horizontal_overflow: document.documentElement.scrollWidth > window.innerWidth,
      };
    });

    const result = {
      title: seen.title,
      text: seen.text,
      tests: seen.tests,
      console_errors: consoleErrors,
      horizontal_overflow: seen.horizontal_overflow,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (e) {
    fail(`unexpected error: ${e.stack || e.message}`, consoleErrors);
  } finally {
    await browser.close().catch(() => {});
  }
}

await main();
