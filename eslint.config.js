// ESLint for the browser code (`make lint-js`): the staff pages' ES modules, the customer
// widget (one classic script, embedded on customers' sites with a <script src> tag) and the
// front-end unit tests (tests/frontend, run by Node's test runner).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".venv*/", "var/", "bench/results/", "tests/artifacts/"] },
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "eqeqeq": ["error", "always", { null: "ignore" }],
      "no-implicit-globals": "error",
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }]
    }
  },
  {
    // The staff pages: modules in the browser, echarts the one global a page adds.
    files: ["**/static/**/*.js"],
    ignores: ["bot/channels/static/widget.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, echarts: "readonly" }
    }
  },
  {
    // The widget stays one classic script: no modules, nothing newer than its own code uses.
    files: ["bot/channels/static/widget.js"],
    languageOptions: { ecmaVersion: 2017, sourceType: "script", globals: globals.browser }
  },
  {
    files: ["tests/frontend/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node }
  }
];
