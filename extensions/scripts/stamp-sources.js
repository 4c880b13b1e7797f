// Write the hash of the extension's sources next to the built labextension, so a test (and `make labextension`)
// can tell whether the committed build is up to date. scripts/source_hash.py computes the same hash.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.resolve(root, require('../package.json').jupyterlab.outputDir, 'source-hash.txt');

function walk(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap(entry => {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      return entry.name === '__tests__' ? [] : walk(rel);
    }
    return [rel];
  });
}

const files = ['package.json', 'yarn.lock', 'tsconfig.json', ...walk('src'), ...walk('style')].sort();
const hash = crypto.createHash('sha256');
for (const rel of files) {
  hash.update(rel + '\0');
  hash.update(fs.readFileSync(path.join(root, rel)));
  hash.update('\0');
}
fs.writeFileSync(out, hash.digest('hex') + '\n');
console.log(`source hash written to ${path.relative(root, out)}`);
