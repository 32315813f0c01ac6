// @ts-check
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
      eqeqeq: 'error'
    }
  },
  {
    files: ['scripts/**', 'src/cli/**', 'bench/**'],
    rules: { 'no-console': 'off' }
  },
  {
    files: ['src/generated/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  }
)
