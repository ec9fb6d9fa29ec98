// The administration page's and the knowledge-base editor's form logic
// (admin_console/static/admin_state.js, knowledge_base/static/editor_forms.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { auditCells, auditLinks, auditParams, sectionsFor, userCells } from "../../admin_console/static/admin_state.js";
import { articleBody, diffText, gapIds, importSummary, splitList } from "../../knowledge_base/static/editor_forms.js";

describe("administration page", () => {
  it("shows only the enrolment while a second factor is required", () => {
    assert.deepEqual(sectionsFor({ mfa_enrolment_required: true, permissions: ["users.manage"] }), { enrol: true, users: false, audit: false });
    assert.deepEqual(sectionsFor({ permissions: ["audit.read"] }), { enrol: false, users: false, audit: true });
    assert.deepEqual(sectionsFor({ permissions: ["users.manage", "audit.read"] }), { enrol: false, users: true, audit: true });
  });

  it("filters the audit trail by the filled-in fields, exports included", () => {
    const params = auditParams([["action", "auth."], ["actor_user_id", ""], ["target", "user:4"]]);
    assert.equal(params.toString(), "action=auth.&target=user%3A4");
    assert.equal(auditLinks(params).csv, "/api/v1/admin/audit/export?format=csv&action=auth.&target=user%3A4");
  });

  it("writes the table cells", () => {
    assert.deepEqual(userCells({ id: 1, email: "a@x", display_name: "A", role: "admin", is_active: true, totp_enabled: false, team_ids: [1, 2] }),
      [1, "a@x", "A", "admin", "yes", "off", "1, 2"]);
    assert.deepEqual(auditCells({ id: 3, before: null, after: { role: "agent" } }).json, ["", '{"role":"agent"}']);
  });
});

describe("knowledge-base editor", () => {
  const fields = (values) => ({ get: (name) => values[name] ?? null });

  it("splits the list fields and drops empty entries", () => {
    assert.deepEqual(splitList(" a, b,, c ", ","), ["a", "b", "c"]);
    assert.deepEqual(splitList(null, ","), []);
    const body = articleBody(fields({ title: "T", category: "shipping", locale: "en", body: "B",
      tags: "x, y", related_slugs: "", alternative_questions: "How long?\n\n where is it \n" }));
    assert.deepEqual(body, { title: "T", category: "shipping", locale: "en", body: "B", tags: ["x", "y"],
      related_slugs: [], alternative_questions: ["How long?", "where is it"], translation_group: null });
    const translation = articleBody(fields({ title: "退货政策", category: "returns", locale: "zh-CN", body: "B",
      translation_group: "return-policy" }));
    assert.equal(translation.translation_group, "return-policy");
  });

  it("writes a diff as one section per field", () => {
    assert.equal(diffText({ title: ["- a", "+ b"], body: ["+ c"] }), "## title\n- a\n+ b\n\n## body\n+ c");
    assert.equal(diffText({}), "No differences.");
  });

  it("summarises an import and reads a cluster's gap ids", () => {
    assert.equal(importSummary({ created: 2, updated: 1, unchanged: 0 }), "created 2, updated 1, unchanged 0");
    assert.deepEqual(gapIds("3,7,9"), [3, 7, 9]);
  });
});
