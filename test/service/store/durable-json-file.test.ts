import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DurableJsonFile } from '../../../service/store/durable-json-file';
import { breakWrites, removeFolders, tempFolder } from './fixtures';

interface Counter {
  count: number;
}

const codec = {
  parse: (text: string) => JSON.parse(text) as Counter,
  serialize: (data: Counter) => JSON.stringify(data),
};

describe('DurableJsonFile', () => {
  let file: string;

  beforeEach(() => {
    file = path.join(tempFolder(), 'counter.json');
  });

  afterEach(removeFolders);

  describe('read', () => {
    it('answers null when the file does not exist', async () => {
      assert.equal(await new DurableJsonFile(file, codec).read(), null);
    });

    it('parses the file with the codec', async () => {
      fs.writeFileSync(file, '{"count":3}');

      assert.deepEqual(await new DurableJsonFile(file, codec).read(), { count: 3 });
    });

    it('passes on what the codec throws', async () => {
      fs.writeFileSync(file, 'not json');

      await assert.rejects(new DurableJsonFile(file, codec).read(), SyntaxError);
    });
  });

  describe('write', () => {
    it('replaces the file and leaves no temp file behind', async () => {
      fs.writeFileSync(file, '{"count":1}');

      await new DurableJsonFile(file, codec).write({ count: 2 });

      assert.equal(fs.readFileSync(file, 'utf8'), '{"count":2}');
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['counter.json']);
    });

    it('writes a text given as chunks, in order', async () => {
      const chunked = {
        ...codec,
        serialize: (data: Counter) => ['{"count":', `${data.count}`, '}'],
      };

      await new DurableJsonFile(file, chunked).write({ count: 12 });

      assert.equal(fs.readFileSync(file, 'utf8'), '{"count":12}');
    });

    it('stores the data as it was when the write started', async () => {
      const data = { count: 1 };

      const writing = new DurableJsonFile(file, codec).write(data);
      data.count = 2;
      await writing;

      assert.equal(fs.readFileSync(file, 'utf8'), '{"count":1}');
    });

    it('makes the file readable by its owner only', async () => {
      await new DurableJsonFile(file, codec).write({ count: 1 });

      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    });

    describe('when the temp file cannot be written', () => {
      it('rejects and leaves the old file intact', async () => {
        fs.writeFileSync(file, '{"count":1}');
        const repair = breakWrites(file);

        await assert.rejects(new DurableJsonFile(file, codec).write({ count: 2 }));
        repair();

        assert.equal(fs.readFileSync(file, 'utf8'), '{"count":1}');
      });
    });
  });
});
