// @ts-check
// The ecosystem's style (neostandard, as fastify/demo uses it) with TypeScript, made stricter
// where this codebase promises more: no `any`, type-only imports marked, no stray console output.
import neostandard, { plugins, resolveIgnoresFromGitignore } from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    noJsx: true,
    // generated code is marked and checked by `npm run openapi:check`, not restyled
    ignores: [...resolveIgnoresFromGitignore(), 'bench/results/**', '**/generated/**']
  }),
  ...plugins['typescript-eslint'].configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
      // a TypeBox schema and its static type share one name (`const X = Type.Object(…)`,
      // `type X = Static<typeof X>`); TypeScript itself rejects a real redeclaration
      '@typescript-eslint/no-redeclare': 'off',
      // `void promise` marks a promise deliberately not awaited (its errors handled inside)
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    files: ['scripts/**', 'src/cli/**', 'bench/**', 'packages/*/src/cli/**', 'packages/*/scripts/**'],
    rules: { 'no-console': 'off' }
  }
]
