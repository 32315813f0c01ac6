/**
 * What a newcomer reads first must not point at things that are gone: every relative link in
 * the project's Markdown reaches a file (and, with an anchor, a heading of it), and every path
 * the README's Layout section names exists.
 */
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, test } from 'vitest'
import { readRepoFile, root } from './support.ts'

/** The Markdown a reader meets: the top level, docs/ and each package's README. */
function markdownFiles (): string[] {
  const top = readdirSync(root).filter((name) => name.endsWith('.md'))
  const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)
  const packages = existsSync(join(root, 'packages'))
    ? readdirSync(join(root, 'packages')).map((name) => `packages/${name}/README.md`).filter((path) => existsSync(join(root, path)))
    : []
  return [...top, ...docs, ...packages]
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf (heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
}

function anchorsIn (markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '')
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1] ?? '')))
}

describe('links', () => {
  test('GitHub anchors are computed the way GitHub does', () => {
    expect(anchorOf('Check any deployment: `ial-check`')).toBe('check-any-deployment-ial-check')
    expect(anchorOf('Per-hub settings (`auth.config`)')).toBe('per-hub-settings-authconfig')
  })

  test.each(markdownFiles())('%s: every relative link reaches a file and heading', (file) => {
    const text = readRepoFile(file)
    const links = [...text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '')
    const broken = links.filter((link) => !/^[a-z]+:/.test(link)).filter((link) => {
      const [path = '', anchor] = link.split('#')
      const target = path === '' ? join(root, file) : join(root, dirname(file), path)
      if (!existsSync(target)) return true
      return anchor !== undefined && target.endsWith('.md') && !anchorsIn(readRepoFile(relative(root, target))).has(anchor)
    })
    expect(broken).toEqual([])
  })
})

describe('the README layout', () => {
  test('every path it names exists', () => {
    const readme = readRepoFile('README.md')
    const section = readme.slice(readme.indexOf('\n## Layout\n'))
    const block = /```\n([\s\S]*?)\n```/.exec(section)?.[1] ?? ''
    expect(block).not.toBe('')
    // an entry is the first word of a line; its indentation says which folder above holds it
    const parents: string[] = []
    const missing: string[] = []
    for (const line of block.split('\n')) {
      const match = /^( *)(\S+)/.exec(line)
      if (match === null || line.trimStart().startsWith('#')) continue
      const depth = (match[1] ?? '').length / 2
      if (!Number.isInteger(depth) || depth > parents.length) continue // a continued description
      const names = (match[2] ?? '').split(',').filter((name) => name !== '')
      parents.length = depth
      for (const name of names) {
        const path = [...parents, name].join('')
        if (!existsSync(join(root, path))) missing.push(path)
      }
      const last = names.at(-1) ?? ''
      if (last.endsWith('/')) parents.push(last)
    }
    expect(missing).toEqual([])
  })
})
