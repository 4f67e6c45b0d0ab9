import { test, expect, expectAccessible, screenshot } from './harness';

test('the token leaves the address bar and the frame shows every view', async ({ page, openUi }) => {
  await openUi('#/instances');
  await expect(page).toHaveURL(/#\/instances$/);
  expect(page.url()).not.toContain('token=');
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible();
  for (const name of ['Designer', 'Instances', 'Tasks']) {
    await expect(page.getByRole('link', { name })).toBeVisible();
  }
  await expect(page.getByRole('link', { name: 'Instances' })).toHaveAttribute('aria-current', 'page');
  await expectAccessible(page, 'the frame');
});

test('an unknown route goes to the designer', async ({ page, openUi }) => {
  await openUi('#/no-such-view');
  await expect(page).toHaveURL(/#\/designer$/);
});

test('without a token the UI asks for one, and a wrong one is refused in words', async ({ page, server, consoleErrors }) => {
  await page.goto(`${server.url}/#/instances`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  const dialog = page.getByTestId('token-prompt');
  await expect(dialog).toBeVisible();
  await page.getByTestId('token-input').fill('not-the-token');
  await page.getByTestId('token-submit').click();
  await expect(dialog).toContainText('refused');
  await page.getByTestId('token-input').fill(server.token);
  await page.getByTestId('token-submit').click();
  await expect(dialog).toBeHidden();
  await screenshot(page, 'frame-instances');
  // Chromium itself logs the refused request ("401 Unauthorized"): that one is expected here.
  const expected = consoleErrors.filter((e) => /\b401\b/.test(e));
  expect(expected.length).toBeGreaterThan(0);
  consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/\b401\b/.test(e)));
});

test('the theme toggle switches to dark and is remembered', async ({ page, openUi }) => {
  await openUi('#/instances');
  await page.getByTestId('theme-toggle').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expectAccessible(page, 'the dark frame');
});
