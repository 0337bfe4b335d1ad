// The guide's journeys through the portal, in a real browser (see harness.cjs).
//
//   node journeys.cjs [journey ...]
//
// Environment (set by crates/castellan/tests/it/portal.rs):
//   CASTELLAN_PORTAL          https://127.0.0.1:<port>/customer/<uri>
//   CASTELLAN_RAO_LOGIN       an RAO created with an initial password
//   CASTELLAN_RAO_INITIAL     that initial password
//   CASTELLAN_RAO_PASSWORD    the password the first-login journey changes it to
//   CASTELLAN_ORG_NAME        the RAO's organisation
//   CASTELLAN_ORG_ID          its id
//   CASTELLAN_CSR_FILE        a CSR (PEM) for a name delegated to it and validated
//   CASTELLAN_BAD_CSR_FILE    a CSR for a name nobody delegated to it
//   CASTELLAN_DOWNLOADS       where downloaded certificates are saved for the Rust test
//   CASTELLAN_DNS_CONTROL     port of the test DNS server's control socket (records to add)
//   CASTELLAN_CSR2_FILE       another CSR for the same name (a new key, for Replace)
//   CASTELLAN_MRAO_LOGIN      the operator (MRAO), password already changed
//   CASTELLAN_MRAO_PASSWORD   its password
//   CASTELLAN_SECOND_LOGIN    a second RAO of the organisation (password already changed)
//   CASTELLAN_SECOND_PASSWORD its password

'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { main } = require('./harness.cjs');

function portalPath(env, rest = '') {
  return new URL(env.CASTELLAN_PORTAL).pathname + rest;
}

async function signIn(j, env, password, login = env.CASTELLAN_RAO_LOGIN) {
  const p = j.page;
  await p.goto(`${env.CASTELLAN_PORTAL}/`);
  await p.getByLabel('Username').fill(login);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Login' }).click();
  await j.at(portalPath(env, '/dashboard'));
}

/** Signs out and waits for the login page, so that the next navigation does not cut it off. */
async function signOut(j, env) {
  await j.page.getByRole('button', { name: 'Sign out' }).click();
  await j.page.waitForURL((url) => url.pathname === portalPath(env, '/'));
  await j.sees('You have signed out.');
}

/** A link of the navigation bar. */
function nav(p, name) {
  return p.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
}

function equal(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const journeys = {
  // Guide 3.1.1 and 4.1.1 step 6a: the first login with the password another administrator
  // set, the forced change, signing out, and signing in again with the new password.
  async 'first-login'(j, env) {
    const p = j.page;
    const login = env.CASTELLAN_RAO_LOGIN;
    await p.goto(`${env.CASTELLAN_PORTAL}/dashboard`);
    await j.at(portalPath(env, '/'));
    await j.sees('Login');
    await j.shot('login');

    await p.getByLabel('Username').fill(login);
    await p.getByLabel('Password').fill('not the password at all');
    j.expectStatus(401, '/login');
    await p.getByRole('button', { name: 'Login' }).click();
    await j.sees('Unknown user, or wrong password');
    equal(await p.getByLabel('Username').inputValue(), login, 'the username is kept after a refusal');
    await j.shot('login-refused');

    await p.getByLabel('Password').fill(env.CASTELLAN_RAO_INITIAL);
    await p.getByRole('button', { name: 'Login' }).click();
    await j.at(portalPath(env, '/password'));
    await j.sees('choose your own before you continue');
    await j.shot('forced-password-change');

    // No page can be reached before the password is changed.
    await p.goto(`${env.CASTELLAN_PORTAL}/organizations`);
    await j.at(portalPath(env, '/password'));

    await p.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
    await p.getByLabel('Repeat the new password').fill('a different passphrase');
    j.expectStatus(400, '/password');
    await p.getByRole('button', { name: 'Change password' }).click();
    await j.sees('The two passwords differ');

    await p.getByLabel('New password', { exact: true }).fill('too short');
    await p.getByLabel('Repeat the new password').fill('too short');
    j.expectStatus(400, '/password');
    await p.getByRole('button', { name: 'Change password' }).click();
    await j.sees('Password: a password must be at least 12 characters long');
    await j.shot('password-refused');

    await p.getByLabel('New password', { exact: true }).fill(env.CASTELLAN_RAO_PASSWORD);
    await p.getByLabel('Repeat the new password').fill(env.CASTELLAN_RAO_PASSWORD);
    await p.getByRole('button', { name: 'Change password' }).click();
    await j.at(portalPath(env, '/dashboard'));
    await j.sees('Your password has been changed.');
    await j.sees('Recent activity');
    await j.shot('dashboard');
    await p.reload();
    await j.doesNotSee('Your password has been changed.');

    await signOut(j, env);
    await j.at(portalPath(env, '/'));
    await j.sees('You have signed out.');
    await j.shot('signed-out');
    await p.goto(`${env.CASTELLAN_PORTAL}/dashboard`);
    await j.at(portalPath(env, '/'));

    // The initial password no longer works; the new one does, and returns to the page asked for.
    await p.getByLabel('Username').fill(login);
    await p.getByLabel('Password').fill(env.CASTELLAN_RAO_INITIAL);
    j.expectStatus(401, '/login');
    await p.getByRole('button', { name: 'Login' }).click();
    await j.sees('Unknown user, or wrong password');
    await p.getByLabel('Password').fill(env.CASTELLAN_RAO_PASSWORD);
    await p.getByRole('button', { name: 'Login' }).click();
    await j.at(portalPath(env, '/dashboard'));
    await j.sees(`Administrator '${login}' signed in to the portal`);
  },

  // Guide 5.1.1: Organizations → Departments: add, edit and delete departments.
  async departments(j, env) {
    const p = j.page;
    await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
    await nav(p, 'Organizations').click();
    await j.at(portalPath(env, '/organizations'));
    await j.sees(env.CASTELLAN_ORG_NAME);
    await j.shot('organizations');

    await p.getByRole('link', { name: /^Departments/ }).click();
    await j.at(portalPath(env, `/organizations/${env.CASTELLAN_ORG_ID}/departments`));
    await j.sees('No departments yet');
    await j.shot('departments-empty');

    await p.getByLabel('Name', { exact: true }).fill('Physics');
    await p.getByLabel(/^Contact emails/).fill('physics-it@camford.ac.uk');
    await p.getByRole('button', { name: 'Add department' }).click();
    await j.sees("Department 'Physics' added.");
    await j.sees('SSL, Client, Code Signing', 'table');

    // A refusal names the field and keeps what was typed.
    await p.getByLabel('Name', { exact: true }).fill('Chemistry');
    await p.getByLabel(/^Contact emails/).fill('chemistry office');
    j.expectStatus(400, '/departments');
    await p.getByRole('button', { name: 'Add department' }).click();
    await j.sees("Contact emails: 'chemistry office' is not an e-mail address");
    equal(await p.getByLabel('Name', { exact: true }).inputValue(), 'Chemistry', 'the name is kept after a refusal');
    await j.shot('department-refused');
    await p.getByLabel(/^Contact emails/).fill('chemistry@camford.ac.uk');
    await p.getByRole('button', { name: 'Add department' }).click();
    await j.sees("Department 'Chemistry' added.");

    await p.getByRole('row', { name: /Physics/ }).getByRole('link', { name: 'Edit' }).click();
    await j.sees('Edit department');
    await p.getByLabel('Name', { exact: true }).fill('Physics & Astronomy');
    await p.getByLabel('Code Signing Certificate').uncheck();
    await j.shot('department-edit');
    await p.getByRole('button', { name: 'Save' }).click();
    await j.sees("Department 'Physics & Astronomy' saved.");
    await j.sees('SSL, Client', 'table');

    await p.getByRole('button', { name: 'Delete Chemistry' }).click();
    await j.sees("Department 'Chemistry' deleted.");
    await j.doesNotSee('Chemistry', 'table');
    await j.shot('departments');

    // A form without its token, or sent from another site, is refused.
    const action = `${env.CASTELLAN_PORTAL}/organizations/${env.CASTELLAN_ORG_ID}/departments`;
    const token = await p.locator('form[action$="/departments"] input[name="csrf"]').inputValue();
    let response = await p.request.post(action, { form: { name: 'Forged' } });
    equal(response.status(), 403, 'a form without its token');
    equal((await response.text()).includes('security token is missing'), true, 'the refusal says why');
    response = await p.request.post(action, {
      form: { csrf: token, name: 'Forged' },
      headers: { Origin: 'https://attacker.example' },
    });
    equal(response.status(), 403, 'a form from another site');
    response = await p.request.post(action, { form: { csrf: 'x'.repeat(43), name: 'Forged' } });
    equal(response.status(), 403, 'a form with another token');
    await p.reload();
    await j.doesNotSee('Forged', 'table');

    await nav(p, 'Dashboard').click();
    await j.sees("Department 'Physics' added to");
    // At phone width nothing is cut off: the page never scrolls sideways.
    await p.setViewportSize({ width: 390, height: 844 });
    await j.shot('dashboard-phone');
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    equal(overflow <= 0, true, `the page fits a phone's width (overflow ${overflow}px)`);
  },
};

// Guide 4: Settings → Admins. Add an IdP user (pending until a *different* administrator
// approves it), a local DRAO for a department; the DRAO's first login, and what a DRAO sees:
// their department only.
journeys.admins = async function admins(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Admins').click();
  await j.at(portalPath(env, '/admins'));
  await j.sees(env.CASTELLAN_SECOND_LOGIN);

  await p.getByRole('link', { name: 'Add IdP User' }).click();
  await p.getByLabel('E-mail').fill('idp-physics@camford.ac.uk');
  await p.getByLabel(/^eduPersonPrincipalName/).fill('idp-physics@camford.ac.uk');
  await p.getByLabel('First name').fill('Ida');
  await p.getByLabel('Last name').fill('Physics');
  await p.locator('input[name="level"][value="RAO"]').check();
  await p.getByLabel('Organization or department').selectOption({ label: env.CASTELLAN_ORG_NAME });
  await p.getByLabel('Add departments').check();
  equal(await p.locator('input[value="keyRecovery"]').isDisabled(), true, 'a privilege the RAO lacks is greyed out');
  await j.shot('add-idp-user');
  await p.getByRole('button', { name: 'Save' }).click();
  await j.sees('IdP user idp-physics@camford.ac.uk added. Nothing happens until a different administrator approves them.');
  const pending = p.locator('tr.pending');
  equal(await pending.count(), 1, 'one row highlighted as pending');
  equal((await pending.innerText()).includes('Awaiting approval'), true, 'it says it awaits approval');
  await j.shot('idp-user-pending');
  await p.getByRole('button', { name: 'Approve idp-physics@camford.ac.uk' }).click();
  await j.sees('you requested this yourself; a different administrator must approve it');
  equal(await p.locator('tr.pending').count(), 1, 'still pending');

  // A local DRAO for the department the departments journey made; a short initial password
  // is refused first, keeping what was typed.
  await p.getByRole('link', { name: 'Add local user' }).click();
  await p.getByLabel('E-mail').fill('drao-physics@camford.ac.uk');
  await p.getByLabel('Username').fill('drao-physics');
  await p.getByLabel(/^Initial password/).fill('short');
  await p.locator('input[name="level"][value="DRAO"]').check();
  await p.getByLabel('Organization or department').selectOption({ label: `${env.CASTELLAN_ORG_NAME} › Physics & Astronomy (department)` });
  j.expectStatus(400, '/admins/new');
  await p.getByRole('button', { name: 'Save' }).click();
  await j.sees('Password: a password must be at least 12 characters long');
  equal(await p.getByLabel('Username').inputValue(), 'drao-physics', 'the username is kept');
  await p.getByLabel(/^Initial password/).fill('an initial drao password');
  await p.getByRole('button', { name: 'Save' }).click();
  await j.sees('Local user drao-physics added.');
  await signOut(j, env);

  // The second RAO approves the IdP user.
  await signIn(j, env, env.CASTELLAN_SECOND_PASSWORD, env.CASTELLAN_SECOND_LOGIN);
  await nav(p, 'Admins').click();
  await p.getByRole('button', { name: 'Approve idp-physics@camford.ac.uk' }).click();
  await j.sees('approved');
  equal(await p.locator('tr.pending').count(), 0, 'no longer pending');
  await j.shot('idp-user-approved');
  await signOut(j, env);

  // The DRAO's first login, and their scope: their department, none of the organisation's
  // certificates.
  await p.getByLabel('Username').fill('drao-physics');
  await p.getByLabel('Password').fill('an initial drao password');
  await p.getByRole('button', { name: 'Login' }).click();
  await j.at(portalPath(env, '/password'));
  await p.getByLabel('New password', { exact: true }).fill('the drao physics password');
  await p.getByLabel('Repeat the new password').fill('the drao physics password');
  await p.getByRole('button', { name: 'Change password' }).click();
  await j.at(portalPath(env, '/dashboard'));
  await j.sees('No certificates have been requested yet.');
  await nav(p, 'Organizations').click();
  await p.getByRole('link', { name: /^Departments/ }).click();
  await j.sees('Physics & Astronomy', 'table');
  await j.shot('drao-departments');
  await nav(p, 'Certificates').click();
  await j.at(portalPath(env, '/ssl'));
  await j.sees('0 certificates');
  await nav(p, 'Domains').click();
  await j.at(portalPath(env, '/domains'));
  await j.doesNotSee('camford.ac.uk');
  j.expectStatus(403, '/ssl/2');
  await p.goto(`${env.CASTELLAN_PORTAL}/ssl/2`);
  await j.sees('SSL certificate 2 is outside your organizations and departments');
  await j.shot('drao-refused');
};

/** Adds a record to the test DNS server (TestDns::serve_control), as a DNS admin would. */
function dnsControl(port, line) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(`${line}\n`));
    socket.on('data', (data) => {
      socket.end();
      if (data.toString().startsWith('ok')) resolve();
      else reject(new Error(`DNS control refused "${line}": ${data}`));
    });
    socket.on('error', reject);
  });
}

// Guide 6: the Domains list folds ac.uk; add a domain delegated to the organisation, and
// validate it by DNS CNAME: Validate, Save & Close, come back to the same instructions,
// Submit before the record exists (refused), publish it, Submit again; then clear it.
journeys.domains = async function domains(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Domains').click();
  await j.at(portalPath(env, '/domains'));
  await j.sees('ac.uk (2 domains)');
  const folded = p.getByRole('link', { name: '*.camford.ac.uk' });
  equal(await folded.isVisible(), false, 'ac.uk domains are folded');
  await p.locator('summary', { hasText: 'ac.uk' }).click();
  equal(await folded.isVisible(), true, 'a click unfolds them');
  await j.shot('domains');

  await p.getByRole('link', { name: 'Add domain' }).click();
  await p.getByLabel(/^Domain/).fill('not a domain');
  await p.getByLabel('Description').fill('Physics web site');
  j.expectStatus(400, '/domains/new');
  await p.getByRole('button', { name: 'Save' }).click();
  await j.sees('not a domain');
  equal(await p.getByLabel('Description').inputValue(), 'Physics web site', 'the description is kept');
  equal(await p.getByLabel(`${env.CASTELLAN_ORG_NAME}: SSL Certificate`).isChecked(), true, 'the grid is kept');
  await j.shot('domain-refused');
  await p.getByLabel(/^Domain/).fill('camford-physics.org');
  await p.getByLabel(`${env.CASTELLAN_ORG_NAME}: Client Certificate`).check();
  await p.getByRole('button', { name: 'Save' }).click();
  await j.sees('Domain camford-physics.org added');
  await j.sees('Not Validated');
  await j.sees('Client');
  const domainPage = p.url();

  await p.getByLabel('DNS CNAME').check();
  await p.getByRole('button', { name: 'Validate' }).click();
  await j.sees('Validation by CNAME under way');
  const host = (await p.locator('#dcv-host').innerText()).trim();
  const point = (await p.locator('#dcv-point').innerText()).trim();
  equal(host.endsWith('.camford-physics.org'), true, `the CNAME's name ${host}`);
  await j.shot('dcv-instructions');
  await p.getByRole('link', { name: 'Save & Close' }).click();
  await j.at(portalPath(env, '/domains'));
  await j.sees('camford-physics.org');
  await p.goto(domainPage);
  equal((await p.locator('#dcv-host').innerText()).trim(), host, 'the same instructions on return');

  await p.getByRole('button', { name: 'Submit' }).click();
  await j.sees('Not Validated');
  await p.locator('summary', { hasText: 'Troubleshooting' }).click();
  await j.sees(host);
  await j.shot('dcv-not-found');

  await dnsControl(env.CASTELLAN_DNS_CONTROL, `cname ${host} ${point}`);
  await p.getByRole('button', { name: 'Submit' }).click();
  await j.sees('Validated');
  await j.doesNotSee('Not Validated');
  await j.doesNotSee('under way');
  await j.shot('dcv-validated');
  await nav(p, 'Domains').click();
  await j.sees('camford-physics.org');

  await p.goto(domainPage);
  await p.getByRole('button', { name: 'Clear DCV' }).click();
  await j.sees('The validation of camford-physics.org was cleared');
  await j.sees('Not Validated');
};

// Guide 7.4 and 7.5: request an OV certificate with a CSR (a refused one first), see it
// issued, download the full chain, find it in the list, revoke it.
journeys.ssl = async function ssl(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Certificates').click();
  await j.at(portalPath(env, '/ssl'));
  await j.sees('0 certificates');
  await p.getByRole('link', { name: 'Request a certificate' }).click();
  await j.at(portalPath(env, '/ssl/new'));
  await p.getByLabel('Organization or department').selectOption({ label: env.CASTELLAN_ORG_NAME });
  await p.getByLabel('Certificate Profile').selectOption('OV SSL');
  await p.getByLabel('Term').selectOption('90');
  await p.getByLabel('Comments').fill('for the web server');
  await p.getByLabel('CSR file').setInputFiles(env.CASTELLAN_BAD_CSR_FILE);
  await j.shot('request');
  j.expectStatus(400, '/ssl/new');
  await p.getByRole('button', { name: 'Request' }).click();
  await j.sees('www.oxford.ac.uk');
  await j.sees('www.oxford.ac.uk: no domain covers it; add www.oxford.ac.uk (or a wildcard above it) under Domains');
  equal(await p.getByLabel('Comments').inputValue(), 'for the web server', 'the comments are kept');
  equal(await p.getByLabel('Term').inputValue(), '90', 'the term is kept');
  await j.shot('request-refused');

  // The upload form's token travels in the form, not the URL; without it the form is refused.
  const forged = await p.request.post(`${env.CASTELLAN_PORTAL}/ssl/new`, {
    multipart: { org_id: env.CASTELLAN_ORG_ID, profile: 'OV SSL', term_days: '90', csr: 'x' },
  });
  equal(forged.status(), 403, 'an upload form without its token');
  equal(new URL(p.url()).search, '', 'no token in the address');
  await p.locator('#csr').fill('');
  await p.getByLabel('CSR file').setInputFiles(env.CASTELLAN_CSR_FILE);
  await p.getByRole('button', { name: 'Request' }).click();
  await j.sees('has been issued');
  await j.sees('portal.camford.ac.uk');
  await j.sees('Issued');
  const id = new URL(p.url()).pathname.split('/').pop();
  await j.shot('issued');

  // Replace (guide 7.4): the same order, re-issued for a new key; a new serial.
  const serial = (await p.locator('dd.mono').first().innerText()).trim();
  await p.locator('#replace_csr').fill(fs.readFileSync(env.CASTELLAN_CSR2_FILE, 'utf8'));
  await p.locator('#replace_reason').fill('new key');
  await p.getByRole('button', { name: 'Replace', exact: true }).click();
  await j.sees(`The replacement of SSL certificate ${id} has been issued.`);
  const replaced = (await p.locator('dd.mono').first().innerText()).trim();
  equal(replaced !== serial && replaced.length > 0, true, `a new serial (${serial} -> ${replaced})`);

  const [download] = await Promise.all([
    p.waitForEvent('download'),
    p.locator('a[href$="/download/pem"]').click(),
  ]);
  await download.saveAs(path.join(env.CASTELLAN_DOWNLOADS, 'chain.pem'));

  // The list finds it by name, and sorts.
  await nav(p, 'Certificates').click();
  await j.sees('1 certificate');
  await p.getByLabel('Name contains').fill('portal.camford');
  await p.getByRole('button', { name: 'Search' }).click();
  await j.sees('portal.camford.ac.uk', 'table');
  await p.getByRole('link', { name: /^Common Name/ }).click();
  equal(await p.locator('th[aria-sort="ascending"]').innerText(), 'Common Name ▲', 'sorted by name');
  await j.shot('list');
  await p.getByLabel('Name contains').fill('no-such-name');
  await p.getByRole('button', { name: 'Search' }).click();
  await j.sees('0 certificates');

  await p.goto(`${env.CASTELLAN_PORTAL}/ssl/${id}`);
  await p.locator('#reason_code').selectOption({ label: 'Superseded' });
  await p.getByLabel('Details').fill('replaced by a new server');
  await p.getByRole('button', { name: 'Revoke' }).click();
  await j.sees(`SSL certificate ${id} revoked.`);
  await j.sees('Revoked', 'h1');
  await j.doesNotSee('Download');
  await j.shot('revoked');
  const response = await p.request.get(`${env.CASTELLAN_PORTAL}/ssl/${id}/download/pem`);
  equal(response.status(), 400, 'a revoked certificate cannot be downloaded');

  // The dashboard counts it, and its figure leads to the list of revoked certificates.
  await nav(p, 'Dashboard').click();
  await p.getByRole('link', { name: /1\s+Revoked/ }).click();
  await j.at(portalPath(env, '/ssl'));
  equal(await p.getByLabel('Status').inputValue(), 'Revoked', 'the list is filtered');
  await j.sees('portal.camford.ac.uk', 'table');
};

// Guide 10: an ACME account for the organisation; its EAB credentials are shown once; its
// domains are added (one refused, with the reason) and removed.
journeys.acme = async function acme(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'ACME').click();
  await j.at(portalPath(env, '/acme'));
  await j.sees('No ACME accounts yet.');
  await p.getByLabel('Name', { exact: true }).fill('Web servers');
  await p.getByLabel('Organization or department').selectOption({ label: env.CASTELLAN_ORG_NAME });
  await p.getByRole('button', { name: 'Add ACME account' }).click();
  await j.sees('ACME account “Web servers” created');
  const kid = (await p.locator('#eab-kid').innerText()).trim();
  const hmac = (await p.locator('#eab-hmac').innerText()).trim();
  equal(kid.length > 10 && hmac.length > 20, true, `EAB credentials shown (${kid})`);
  equal((await p.locator('#acme-directory').innerText()).includes('/acme/'), true, 'the directory URL');
  await j.sees(`--eab-kid ${kid}`);
  await j.shot('acme-created');

  await p.getByRole('link', { name: 'Open the account' }).click();
  await j.sees(kid);
  await j.doesNotSee(hmac);
  await j.sees('None yet');
  await p.getByLabel(/^Add domains/).fill('portal.camford.ac.uk\nwww.oxford.ac.uk');
  await p.getByRole('button', { name: 'Add domains' }).click();
  await j.sees('Not added — www.oxford.ac.uk');
  await j.sees('portal.camford.ac.uk', 'ul.plain');
  await j.shot('acme-account');
  await p.getByRole('button', { name: 'Remove portal.camford.ac.uk' }).click();
  await j.sees('Removed portal.camford.ac.uk.');
  await j.sees('None yet');
  await nav(p, 'ACME').click();
  await j.sees('Web servers', 'table');
};

// The operator (MRAO) edits the organisation's validation status and EV details; an RAO sees
// them read-only.
journeys.operator = async function operator(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_MRAO_PASSWORD, env.CASTELLAN_MRAO_LOGIN);
  await nav(p, 'Organizations').click();
  await p.getByRole('link', { name: env.CASTELLAN_ORG_NAME }).click();
  await j.sees('EV details');
  await p.getByLabel('Legal name').fill('The Chancellor, Masters and Scholars of the University of Camford');
  await p.getByLabel('Business category').fill('Government Entity');
  await p.getByLabel('Jurisdiction country').fill('GB');
  await p.getByRole('button', { name: 'Save' }).click();
  await j.sees(`Organization '${env.CASTELLAN_ORG_NAME}' saved.`);
  await j.shot('organization-mrao');
  await signOut(j, env);

  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Organizations').click();
  await p.getByRole('link', { name: env.CASTELLAN_ORG_NAME }).click();
  await j.sees('The Chancellor, Masters and Scholars of the University of Camford', 'dl.ev');
  equal(await p.locator('input#legal_name').count(), 0, 'an RAO cannot edit EV details');
  await j.shot('organization-rao');
};

// The audit log shows what the journeys before did, newest first.
journeys.audit = async function audit(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Audit log').click();
  await j.at(portalPath(env, '/audit'));
  await j.sees("Department 'Physics' added to");
  await j.sees('admin.sign-in');
  await j.sees('DCV of camford-physics.org');
  const first = Number(await p.locator('tbody tr td').first().innerText());
  const second = Number(await p.locator('tbody tr:nth-child(2) td').first().innerText());
  equal(first > second, true, `newest first (${first}, ${second})`);
  await j.shot('audit');
};

// Guide 4: managing an administrator. An RAO without the edit privilege is refused; the
// operator suspends the DRAO, resets their password and activates them again; the DRAO's
// next sign-in must change the reset password.
journeys['manage-admin'] = async function manageAdmin(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Admins').click();
  await p.getByRole('link', { name: 'drao-physics' }).click();
  j.expectStatus(403, '/active');
  await p.getByRole('button', { name: 'Suspend' }).click();
  await j.sees('allowEdit');
  await j.shot('suspend-refused');
  await signOut(j, env);

  await signIn(j, env, env.CASTELLAN_MRAO_PASSWORD, env.CASTELLAN_MRAO_LOGIN);
  await nav(p, 'Admins').click();
  await p.getByRole('link', { name: 'drao-physics' }).click();
  await p.getByRole('button', { name: 'Suspend' }).click();
  await j.sees('Administrator suspended');
  await j.sees('Suspended', 'dl');
  await p.getByLabel(/^New initial password/).fill('a reset drao password');
  await p.getByRole('button', { name: 'Reset password' }).click();
  await j.sees('Password reset');
  await p.getByRole('button', { name: 'Activate' }).click();
  await j.sees('Administrator activated.');
  await j.sees('Active', 'dl');
  await j.shot('admin-managed');
  await signOut(j, env);

  await p.getByLabel('Username').fill('drao-physics');
  await p.getByLabel('Password').fill('a reset drao password');
  await p.getByRole('button', { name: 'Login' }).click();
  await j.at(portalPath(env, '/password'));
};

// Guide 9: an expiry warning rule for the organisation (a refused one first, keeping the
// form), listed with its recipients and thresholds.
journeys.notifications = async function notifications(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Notifications').click();
  await j.at(portalPath(env, '/notifications'));
  await j.sees('No notifications yet.');
  equal(await p.getByLabel('Days before expiry').inputValue(), '90, 60, 30, 7, 3', 'the common schedule is the default');
  await p.getByLabel('For the certificates, domains and administrators of').selectOption({ label: `${env.CASTELLAN_ORG_NAME} (all of it)` });
  await p.getByLabel(/^And these addresses/).fill('pki-team@camford.ac.uk');
  await p.getByLabel('Days before expiry').fill('0, 7');
  j.expectStatus(400, '/notifications');
  await p.getByRole('button', { name: 'Add notification' }).click();
  await j.sees('Days before expiry: give 1 to 10 numbers of days before expiry');
  equal(await p.getByLabel(/^And these addresses/).inputValue(), 'pki-team@camford.ac.uk', 'the addresses are kept');
  await p.getByLabel('Days before expiry').fill('30, 7');
  await p.getByRole('button', { name: 'Add notification' }).click();
  await j.sees('Notification added.');
  await j.sees('the requester, pki-team@camford.ac.uk', 'table');
  await j.sees('30, 7', 'table');
  await j.shot('notifications');
  await p.getByRole('button', { name: /^Send a test of notification/ }).click();
  await j.sees('queued for pki-team@camford.ac.uk, rao-portal@camford.ac.uk');
  await p.getByRole('link', { name: 'Delivery log' }).click();
  await j.at(portalPath(env, '/notifications/log'));
  await j.sees('The messages sent to you, newest first.');
  await j.sees('[Test] SSL certificate for www.example.ac.uk', 'table');

  // Edit the rule: the form comes back filled in; a refusal keeps what was typed.
  await nav(p, 'Notifications').click();
  await p.getByRole('link', { name: /^Edit notification \d+: SSL certificate expiring/ }).click();
  const ruleId = new URL(p.url()).pathname.split('/').pop();
  equal(await p.getByLabel('Days before expiry').inputValue(), '30, 7', 'the rule\'s days are shown');
  equal(await p.getByLabel(/^And these addresses/).inputValue(), 'pki-team@camford.ac.uk', 'its addresses too');
  await p.getByLabel('Notification type').selectOption({ label: 'Administrator created' });
  await p.locator('input[name="requester"]').uncheck();
  j.expectStatus(400, '/notifications/');
  await p.getByLabel(/^And these addresses/).fill('not-an-address');
  await p.getByRole('button', { name: 'Save notification' }).click();
  await j.sees("'not-an-address' is not an e-mail address");
  equal(await p.getByLabel('Notification type').inputValue(), 'admin.created', 'the kind is kept');
  await p.getByLabel('Notification type').selectOption({ label: 'SSL certificate expiring' });
  await p.locator('input[name="requester"]').check();
  await p.getByLabel(/^And these addresses/).fill('pki-team@camford.ac.uk');
  await p.getByLabel('Days before expiry').fill('60, 14');
  await p.getByRole('button', { name: 'Save notification' }).click();
  await j.sees(`Notification ${ruleId} saved.`);
  await j.sees('60, 14', 'table');

  // The templates: an RAO reads them; only the operator changes them.
  await p.getByRole('link', { name: 'Templates' }).click();
  await j.at(portalPath(env, '/notifications/templates'));
  await p.getByRole('link', { name: 'SSL certificate expired' }).click();
  await j.sees('Only the operator (MRAO) changes templates.');
  equal(await p.getByRole('button', { name: 'Save template' }).count(), 0, 'an RAO cannot save a template');
  await signOut(j, env);

  await signIn(j, env, env.CASTELLAN_MRAO_PASSWORD, env.CASTELLAN_MRAO_LOGIN);
  await p.goto(`${env.CASTELLAN_PORTAL}/notifications/templates/ssl.expired`);
  await j.sees('Variables: common_name');
  j.expectStatus(400, '/notifications/templates/ssl.expired');
  await p.getByLabel('Subject').fill('Expired: {{ comon_name }}');
  await p.getByRole('button', { name: 'Save template' }).click();
  await j.sees("the subject of the 'ssl.expired' template");
  equal(await p.getByLabel('Subject').inputValue(), 'Expired: {{ comon_name }}', 'what was typed is kept');
  await p.getByLabel('Subject').fill('Expired: {{ common_name }}');
  await p.getByRole('button', { name: 'Save template' }).click();
  await j.sees('Template saved; it is used from the next notification on.');
  await j.shot('template');
  await p.getByRole('link', { name: 'Templates', exact: true }).click();
  await j.sees('Changed', 'table');
  await p.getByRole('link', { name: 'SSL certificate expired' }).click();
  await p.getByRole('button', { name: 'Use the default again' }).click();
  await j.sees('The default template is used again.');
  equal(await p.getByLabel('Subject').inputValue(), 'SSL certificate for {{ common_name }} has expired', 'the default is back');
};

// Guide 8.2.1: Certificates → Client Certificates → Add: a person with the user's details
// (a refused form keeps what was typed), changed on their page (never the e-mail), deleted.
journeys.persons = async function persons(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await nav(p, 'Certificates').click();
  await p.getByRole('link', { name: 'Client Certificates' }).click();
  await j.at(portalPath(env, '/client'));
  await j.sees('No persons yet.');
  await p.getByLabel('First name').fill('Ada');
  await p.getByLabel('E-mail', { exact: true }).fill('ada.lovelace@camford.ac.uk');
  await p.getByLabel('Organization or department').selectOption({ label: env.CASTELLAN_ORG_NAME });
  j.expectStatus(400, '/client');
  await p.getByRole('button', { name: 'Add person' }).click();
  await j.sees('Last name: the last name must not be empty');
  equal(await p.getByLabel('First name').inputValue(), 'Ada', 'what was typed is kept');
  await p.getByLabel('Last name').fill('Lovelace');
  await p.getByLabel(/^Common name/).fill('Ada Lovelace');
  await p.getByRole('button', { name: 'Add person' }).click();
  await j.sees('Person ada.lovelace@camford.ac.uk added.');
  equal(await p.getByLabel('E-mail', { exact: true }).getAttribute('readonly'), '', 'the e-mail does not change');
  await p.getByLabel('Validation type').selectOption('HIGH');
  await p.getByLabel(/^Phone/).fill('+44 1223 000000');
  await p.getByRole('button', { name: 'Save person' }).click();
  await j.sees('Person saved.');
  equal(await p.getByLabel('Validation type').inputValue(), 'HIGH', 'the change is kept');
  await j.shot('person');
  await p.getByRole('link', { name: 'Client Certificates' }).click();
  await j.sees('ada.lovelace@camford.ac.uk', 'table');
  await j.sees('HIGH', 'table');
  await p.getByRole('link', { name: 'Ada Lovelace' }).click();
  await p.getByRole('button', { name: 'Delete person' }).click();
  await j.at(portalPath(env, '/client'));
  await j.sees('No persons yet.');
};

// Guide 8.2.1 "Send Invitation": the RAO invites a person from their page; the person follows
// the link in the mail (read from the real SMTP server's folder), is refused a short
// passphrase, then creates a key and downloads the PKCS#12; the RAO sees the certificate on
// the person's page and revokes it (guide 8.3).
journeys.invitation = async function invitation(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await p.goto(`${env.CASTELLAN_PORTAL}/client`);
  await p.getByLabel('First name').fill('Grace');
  await p.getByLabel('Last name').fill('Hopper');
  await p.getByLabel('E-mail', { exact: true }).fill('grace.hopper@camford.ac.uk');
  await p.getByLabel('Organization or department').selectOption({ label: env.CASTELLAN_ORG_NAME });
  await p.getByRole('button', { name: 'Add person' }).click();
  await j.sees('Person grace.hopper@camford.ac.uk added.');
  await j.sees('No client certificates yet.');
  await p.getByLabel('Certificate type').selectOption({ label: 'Personal Certificate' });
  await p.getByLabel('Term (days)').selectOption('365');
  await p.getByRole('button', { name: 'Send Invitation' }).click();
  await j.sees('Invitation sent to grace.hopper@camford.ac.uk');
  const person = new URL(p.url()).pathname;
  await signOut(j, env);

  // The mail, as the SMTP server received it (quoted-printable soft breaks joined).
  let link = null;
  for (let i = 0; i < 100 && !link; i += 1) {
    for (const name of fs.readdirSync(env.CASTELLAN_MAIL_DIR).filter((n) => n.endsWith('.eml'))) {
      const mail = fs.readFileSync(path.join(env.CASTELLAN_MAIL_DIR, name), 'utf8').replace(/=\r?\n/g, '');
      const found = mail.match(/https?:\/\/\S*?(\/customer\/[^/\s]+\/invitation\/[A-Za-z0-9_-]+)/);
      if (found && mail.includes('grace.hopper@camford.ac.uk')) link = found[1];
    }
    if (!link) await p.waitForTimeout(100);
  }
  equal(link !== null, true, 'the invitation mail arrived with its link');
  await p.goto(new URL(link, env.CASTELLAN_PORTAL).href);
  await j.sees('you are invited to create your Personal Certificate for grace.hopper@camford.ac.uk');
  await j.shot('invitation');
  await p.getByLabel('Key type').selectOption({ label: 'RSA 2048 bits (best supported, e.g. by Outlook)' });
  await p.getByLabel(/^Passphrase/).fill('short');
  await p.getByLabel('The passphrase again').fill('short');
  await p.locator('#passphrase').evaluate((e) => e.removeAttribute('minlength'));
  j.expectStatus(400, '/invitation/');
  await p.getByRole('button', { name: 'Create and download' }).click();
  await j.sees('choose a passphrase of at least 8 characters: it protects your private key');
  await p.getByLabel(/^Passphrase/).fill(env.CASTELLAN_P12_PASSPHRASE);
  await p.getByLabel('The passphrase again').fill(env.CASTELLAN_P12_PASSPHRASE);
  j.expectDownload('/invitation/');
  const [download] = await Promise.all([
    p.waitForEvent('download'),
    p.getByRole('button', { name: 'Create and download' }).click(),
  ]);
  equal(download.suggestedFilename(), 'Grace_Hopper.p12', 'the PKCS#12 is named after the person');
  await download.saveAs(path.join(env.CASTELLAN_DOWNLOADS, 'grace.p12'));
  // The link works once.
  j.expectStatus(404, '/invitation/');
  await p.goto(new URL(link, env.CASTELLAN_PORTAL).href);
  await j.sees('it is unknown, already used or expired; ask your administrator to send a new invitation');

  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await p.goto(new URL(person, env.CASTELLAN_PORTAL).href);
  await j.sees('Personal Certificate', 'table');
  await j.sees('Issued', 'table');
  await j.shot('person-certificates');
  await p.getByLabel('Reason').fill('left the university');
  await p.getByRole('button', { name: 'Revoke' }).click();
  await j.sees('revoked.');
  await j.sees('Revoked', 'table');
};

// Every main screen at phone width (390 px): nothing is cut off, the page never scrolls
// sideways (wide tables scroll within their own box).
journeys.phone = async function phone(j, env) {
  const p = j.page;
  await p.setViewportSize({ width: 390, height: 844 });
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  for (const [screen, where] of [
    ['dashboard', '/dashboard'],
    ['ssl-list', '/ssl'],
    ['ssl-certificate', '/ssl/2'],
    ['ssl-request', '/ssl/new'],
    ['domains', '/domains'],
    ['domain-new', '/domains/new'],
    ['organizations', '/organizations'],
    ['acme', '/acme'],
    ['admins', '/admins'],
    ['admin-new', '/admins/new?kind=local'],
    ['audit', '/audit'],
    ['notifications', '/notifications'],
    ['client', '/client'],
  ]) {
    await p.goto(`${env.CASTELLAN_PORTAL}${where}`);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) {
      await j.shot(`${screen}-overflows`);
      throw new Error(`${where} is ${overflow}px wider than a phone`);
    }
  }
  await p.goto(`${env.CASTELLAN_PORTAL}/ssl/2`);
  await j.shot('ssl-certificate-phone');
};

// Five wrong passwords in a row lock the account; the sixth attempt, with the right password,
// says until when and what to do (guide 3.1; the lockout of ra::signin).
journeys.lockout = async function lockout(j, env) {
  const p = j.page;
  await p.goto(`${env.CASTELLAN_PORTAL}/`);
  for (let i = 0; i < 5; i += 1) {
    await p.getByLabel('Username').fill(env.CASTELLAN_SECOND_LOGIN);
    await p.getByLabel('Password').fill(`wrong password ${i}`);
    j.expectStatus(401, '/login');
    await p.getByRole('button', { name: 'Login' }).click();
    await j.sees('Unknown user, or wrong password');
  }
  await p.getByLabel('Password').fill(env.CASTELLAN_SECOND_PASSWORD);
  j.expectStatus(429, '/login');
  await p.getByRole('button', { name: 'Login' }).click();
  await j.sees('the account is locked after 5 failed sign-ins; try again after');
  await j.sees('or ask another administrator to reset the password');
  await j.shot('locked');
};

// The order matters: each journey starts from what the one before left (the departments
// journey's department, the ssl journey's certificate that a DRAO must not see).
const ordered = {};
const order = [
  'first-login', 'departments', 'domains', 'ssl', 'acme', 'operator', 'audit', 'admins',
  'manage-admin', 'notifications', 'persons', 'invitation', 'phone', 'lockout',
];
for (const name of order) {
  ordered[name] = journeys[name];
}

main(ordered).catch((err) => {
  console.error(err.stack || err);
  process.exit(2);
});
