import fs from 'node:fs';
import { ATTACHMENT_CRD_PATH, renderAttachmentCrd, renderCrd, CRD_PATH } from '../dev/scripts/gen-crd.js';

describe('NodeENI CRD', () => {
  it('in the chart is the one generated from the zod schema (run `npm run gen:crd` after changing it)', () => {
    expect(fs.readFileSync(CRD_PATH, 'utf8')).toBe(renderCrd());
  });
  it('NodeENIAttachment in the chart is the one generated from its zod schema', () => {
    expect(fs.readFileSync(ATTACHMENT_CRD_PATH, 'utf8')).toBe(renderAttachmentCrd());
  });
});
