// The /ui page's script builds its DOM with textContent only: nothing in it
// parses a string as HTML, so a name from a client cannot become an element.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UI_PAGE } from '../../src/server/ui-page.js';

test('the /ui script never parses text as HTML', () => {
  const script = /<script>([\s\S]*)<\/script>/.exec(UI_PAGE)?.[1] ?? '';
  assert.ok(script.length > 1000, 'the inline script');
  for (const sink of [
    'innerHTML',
    'outerHTML',
    'insertAdjacentHTML',
    'document.write',
    'createContextualFragment',
    'DOMParser',
    'srcdoc',
    'eval(',
    'new Function',
  ]) {
    assert.ok(!script.includes(sink), `the script uses ${sink}`);
  }
  assert.match(script, /textContent = String\(text\)/);
  assert.match(script, /function escapeLog\(text\)/);
});
