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

'use strict';

const path = require('path');
const { main } = require('./harness.cjs');

function portalPath(env, rest = '') {
  return new URL(env.CASTELLAN_PORTAL).pathname + rest;
}

async function signIn(j, env, password) {
  const p = j.page;
  await p.goto(`${env.CASTELLAN_PORTAL}/`);
  await p.getByLabel('Username').fill(env.CASTELLAN_RAO_LOGIN);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Login' }).click();
  j.at(portalPath(env, '/dashboard'));
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
    j.at(portalPath(env, '/'));
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
    j.at(portalPath(env, '/password'));
    await j.sees('choose your own before you continue');
    await j.shot('forced-password-change');

    // No page can be reached before the password is changed.
    await p.goto(`${env.CASTELLAN_PORTAL}/organizations`);
    j.at(portalPath(env, '/password'));

    await p.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
    await p.getByLabel('Repeat the new password').fill('a different passphrase');
    j.expectStatus(400, '/password');
    await p.getByRole('button', { name: 'Change password' }).click();
    await j.sees('The two passwords differ');

    await p.getByLabel('New password', { exact: true }).fill('too short');
    await p.getByLabel('Repeat the new password').fill('too short');
    j.expectStatus(400, '/password');
    await p.getByRole('button', { name: 'Change password' }).click();
    await j.sees('New password: a password must be at least 12 characters long');
    await j.shot('password-refused');

    await p.getByLabel('New password', { exact: true }).fill(env.CASTELLAN_RAO_PASSWORD);
    await p.getByLabel('Repeat the new password').fill(env.CASTELLAN_RAO_PASSWORD);
    await p.getByRole('button', { name: 'Change password' }).click();
    j.at(portalPath(env, '/dashboard'));
    await j.sees('Your password has been changed.');
    await j.sees('Recent activity');
    await j.shot('dashboard');
    await p.reload();
    await j.doesNotSee('Your password has been changed.');

    await p.getByRole('button', { name: 'Sign out' }).click();
    j.at(portalPath(env, '/'));
    await j.sees('You have signed out.');
    await j.shot('signed-out');
    await p.goto(`${env.CASTELLAN_PORTAL}/dashboard`);
    j.at(portalPath(env, '/'));

    // The initial password no longer works; the new one does, and returns to the page asked for.
    await p.getByLabel('Username').fill(login);
    await p.getByLabel('Password').fill(env.CASTELLAN_RAO_INITIAL);
    j.expectStatus(401, '/login');
    await p.getByRole('button', { name: 'Login' }).click();
    await j.sees('Unknown user, or wrong password');
    await p.getByLabel('Password').fill(env.CASTELLAN_RAO_PASSWORD);
    await p.getByRole('button', { name: 'Login' }).click();
    j.at(portalPath(env, '/dashboard'));
    await j.sees(`Administrator '${login}' signed in to the portal`);
  },

  // Guide 5.1.1: Organizations → Departments: add, edit and delete departments.
  async departments(j, env) {
    const p = j.page;
    await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
    await p.getByRole('link', { name: 'Organizations' }).click();
    j.at(portalPath(env, '/organizations'));
    await j.sees(env.CASTELLAN_ORG_NAME);
    await j.shot('organizations');

    await p.getByRole('link', { name: /^Departments/ }).click();
    j.at(portalPath(env, `/organizations/${env.CASTELLAN_ORG_ID}/departments`));
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

    await p.getByRole('link', { name: 'Dashboard' }).click();
    await j.sees("Department 'Physics' added to");
    // At phone width nothing is cut off: the page never scrolls sideways.
    await p.setViewportSize({ width: 390, height: 844 });
    await j.shot('dashboard-phone');
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    equal(overflow <= 0, true, `the page fits a phone's width (overflow ${overflow}px)`);
  },
};

// Guide 7.4 and 7.5: request an OV certificate with a CSR (a refused one first), see it
// issued, download the full chain, find it in the list, revoke it.
journeys.ssl = async function ssl(j, env) {
  const p = j.page;
  await signIn(j, env, env.CASTELLAN_RAO_PASSWORD);
  await p.getByRole('link', { name: 'Certificates', exact: true }).click();
  j.at(portalPath(env, '/ssl'));
  await j.sees('0 certificates');
  await p.getByRole('link', { name: 'Request a certificate' }).click();
  j.at(portalPath(env, '/ssl/new'));
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

  await p.locator('#csr').fill('');
  await p.getByLabel('CSR file').setInputFiles(env.CASTELLAN_CSR_FILE);
  await p.getByRole('button', { name: 'Request' }).click();
  await j.sees('has been issued');
  await j.sees('portal.camford.ac.uk');
  await j.sees('Issued');
  const id = new URL(p.url()).pathname.split('/').pop();
  await j.shot('issued');

  const [download] = await Promise.all([
    p.waitForEvent('download'),
    p.locator('a[href$="/download/pem"]').click(),
  ]);
  await download.saveAs(path.join(env.CASTELLAN_DOWNLOADS, 'chain.pem'));

  // The list finds it by name, and sorts.
  await p.getByRole('link', { name: 'Certificates', exact: true }).click();
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
  await p.getByLabel('Reason', { exact: true }).selectOption({ label: 'Superseded' });
  await p.getByLabel('Details').fill('replaced by a new server');
  await p.getByRole('button', { name: 'Revoke' }).click();
  await j.sees(`SSL certificate ${id} revoked.`);
  await j.sees('Revoked', 'h1');
  await j.doesNotSee('Download');
  await j.shot('revoked');
  const response = await p.request.get(`${env.CASTELLAN_PORTAL}/ssl/${id}/download/pem`);
  equal(response.status(), 400, 'a revoked certificate cannot be downloaded');

  // The dashboard counts it, and its figure leads to the list of revoked certificates.
  await p.getByRole('link', { name: 'Dashboard' }).click();
  await p.getByRole('link', { name: /1\s+Revoked/ }).click();
  j.at(portalPath(env, '/ssl'));
  equal(await p.getByLabel('Status').inputValue(), 'Revoked', 'the list is filtered');
  await j.sees('portal.camford.ac.uk', 'table');
};

main(journeys).catch((err) => {
  console.error(err.stack || err);
  process.exit(2);
});
