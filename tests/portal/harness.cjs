// The browser side of the portal tests: Debian's Chromium driven by playwright-core.
//
// Every page a journey opens is watched: a console error, a request that fails, or an HTTP
// error status the journey did not announce with `expectStatus` fails the journey. Each
// screen is photographed into CASTELLAN_SCREENSHOTS for review.

'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CASTELLAN_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.CASTELLAN_SCREENSHOTS || path.join(__dirname, '../../target/portal-screenshots');

class Journey {
  constructor(name, browser, context, page) {
    this.name = name;
    this.browser = browser;
    this.context = context;
    this.page = page;
    this.problems = [];
    this.expected = [];
    this.downloads = [];
    this.shots = 0;
    // Screenshots of an earlier run would mislead a reviewer.
    fs.rmSync(path.join(SHOTS, name), { recursive: true, force: true });
    this.watch(page);
  }

  watch(page) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // Chromium reports every HTTP error status here too; the response handler below judges
      // those (a refusal the journey announced is no problem).
      if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text())) return;
      this.problems.push(`console error on ${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => this.problems.push(`page error on ${page.url()}: ${err.message}`));
    page.on('requestfailed', (req) => {
      // A form answered with a file: Chromium downloads it and aborts the navigation.
      const failure = req.failure() && req.failure().errorText;
      const i = this.downloads.findIndex((part) => failure === 'net::ERR_ABORTED' && req.url().includes(part));
      if (i >= 0) {
        this.downloads.splice(i, 1);
        return;
      }
      this.problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure() && req.failure().errorText}`);
    });
    page.on('response', (res) => {
      const status = res.status();
      if (status < 400) return;
      const i = this.expected.findIndex((e) => e.status === status && res.url().includes(e.path));
      if (i >= 0) {
        this.expected.splice(i, 1);
      } else {
        this.problems.push(`unexpected HTTP ${status} for ${res.request().method()} ${res.url()}`);
      }
    });
  }

  /** Announces that the next request for a URL containing `urlPart` is a form answered
   * with a file (a download), which the browser reports as an aborted navigation. */
  expectDownload(urlPart) {
    this.downloads.push(urlPart);
  }

  /** Announces that the next response for a URL containing `urlPart` has `status`. */
  expectStatus(status, urlPart) {
    this.expected.push({ status, path: urlPart });
  }

  /** A full-page screenshot, numbered in order, under SHOTS/<journey>/. */
  async shot(label) {
    this.shots += 1;
    const dir = path.join(SHOTS, this.name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${String(this.shots).padStart(2, '0')}-${label}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /** Waits (5 s at most) until the page's main content contains `text`, else fails. */
  async sees(text, where = 'main') {
    const deadline = Date.now() + 5000;
    let content = '';
    for (;;) {
      await this.page.waitForLoadState('load');
      content = await this.page.locator(where).first().innerText().catch(() => '');
      if (content.includes(text)) return;
      if (Date.now() > deadline) break;
      await this.page.waitForTimeout(100);
    }
    throw new Error(`expected "${text}" in ${where} of ${this.page.url()}, found:\n${content}`);
  }

  /** Fails if the loaded page's main content contains `text`. */
  async doesNotSee(text, where = 'main') {
    await this.page.waitForLoadState('load');
    const content = await this.page.locator(where).innerText();
    if (content.includes(text)) {
      throw new Error(`did not expect "${text}" in ${where} of ${this.page.url()}:\n${content}`);
    }
  }

  /** Waits (5 s at most) until the current path is `expected`, else fails. */
  async at(expected) {
    try {
      await this.page.waitForURL((url) => url.pathname === expected, { timeout: 5000 });
    } catch (_) {
      const actual = new URL(this.page.url()).pathname;
      throw new Error(`expected to be at ${expected}, but at ${actual}`);
    }
  }

  /** Problems seen so far (then forgets them). */
  takeProblems() {
    const p = this.problems.concat(this.expected.map((e) => `announced HTTP ${e.status} for ${e.path} never came`));
    this.problems = [];
    this.expected = [];
    return p;
  }
}

/** Runs `journeys` (name -> async function(journey, env)) given on the command line, or all. */
async function main(journeys) {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(journeys);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  let failed = 0;
  try {
    for (const name of names) {
      const run = journeys[name];
      if (!run) throw new Error(`no journey "${name}"; the journeys are: ${Object.keys(journeys).join(', ')}`);
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const journey = new Journey(name, browser, context, page);
      const started = Date.now();
      try {
        await run(journey, process.env);
        const problems = journey.takeProblems();
        if (problems.length) throw new Error(`the browser saw problems:\n  ${problems.join('\n  ')}`);
        console.log(`ok   ${name} (${journey.shots} screenshots, ${Date.now() - started} ms)`);
      } catch (err) {
        failed += 1;
        try { await journey.shot('failure'); } catch (_) { /* the page may be gone */ }
        console.log(`FAIL ${name} at ${page.url()}: ${err.stack || err}`);
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  if (failed) {
    console.log(`${failed} journey(s) failed; screenshots in ${SHOTS}`);
    process.exit(1);
  }
}

module.exports = { main, SHOTS };
