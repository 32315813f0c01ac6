import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Value } from 'typebox/value'
import { ImageConfiguration } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { PublicKey } from '../src/schemas.ts'
import { API_KEY_B, SSH_KEY, call, idOf } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator() })
afterAll(async () => { await sim.close() })

const kernel = { image_ramdisk_kernel: 'https://images.example.com/vmlinuz', image_ramdisk_ramdisk: 'https://images.example.com/initramfs.img' }
const disk = { image_source: 'https://images.example.com/disk.img', image_os_hash_algo: 'sha256', image_os_hash_value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }

describe('deployment configurations', () => {
  test.each([
    ['a ramdisk pair', kernel],
    ['a ramdisk pair with kernel_args', { ...kernel, kernel_args: 'console=ttyS0,115200n8' }],
    ['a disk image with its hash', disk],
    ['cloud-init only', { cloud_init: { data: '{"packages":["htop"]}' } }],
    ['no fields', undefined]
  ])('accepts %s', async (_name, fields) => {
    const reply = await call(sim, 'POST', '/v1/configurations', { label: 'ok', ...(fields === undefined ? {} : { fields }) })
    expect(reply.status).toBe(200)
    expect(Value.Check(ImageConfiguration, reply.body)).toBe(true)
    expect(reply.body).toMatchObject({ label: 'ok', fields: { ...fields, organization_id: 'org_sim_a' } })
  })

  test.each([
    ['a disk image without a hash', { image_source: disk.image_source }],
    ['a disk image without a hash value', { image_source: disk.image_source, image_os_hash_algo: 'sha256' }],
    ['an unknown hash algorithm', { ...disk, image_os_hash_algo: 'crc32' }],
    ['only a kernel', { image_ramdisk_kernel: kernel.image_ramdisk_kernel }],
    ['only a ramdisk', { image_ramdisk_ramdisk: kernel.image_ramdisk_ramdisk }],
    ['both modes', { ...disk, ...kernel }],
    ['a boot ISO', { image_ramdisk_boot_iso: 'https://images.example.com/x.iso' }],
    ['kernel_args without a ramdisk', { ...disk, kernel_args: 'quiet' }],
    ['blank kernel_args', { ...kernel, kernel_args: '   ' }],
    ['kernel_args with a newline', { ...kernel, kernel_args: 'quiet\nsplash' }],
    ['kernel_args with a carriage return', { ...kernel, kernel_args: 'quiet\rsplash' }],
    ['kernel_args over 1024 characters', { ...kernel, kernel_args: 'a'.repeat(1025) }]
  ])('refuses %s', async (_name, fields) => {
    const before = ((await call(sim, 'GET', '/v1/configurations')).body as unknown[]).length
    expect((await call(sim, 'POST', '/v1/configurations', { label: 'bad', fields })).status).toBe(400)
    expect(((await call(sim, 'GET', '/v1/configurations')).body as unknown[]).length).toBe(before)
  })

  test('no label is a 400', async () => {
    expect((await call(sim, 'POST', '/v1/configurations', { fields: kernel })).status).toBe(400)
  })

  test('get, PATCH (merged, then validated as a whole), delete (204); other organisations get 404', async () => {
    const id = idOf(await call(sim, 'POST', '/v1/configurations', { label: 'cycleos', fields: kernel }))
    expect(Value.Check(ImageConfiguration, (await call(sim, 'GET', `/v1/configurations/${id}`)).body)).toBe(true)
    expect(((await call(sim, 'GET', '/v1/configurations')).body as Array<{ id: string }>).map((item) => item.id)).toContain(id)
    const patched = await call(sim, 'PATCH', `/v1/configurations/${id}`, { id, label: 'cycleos v2', fields: { kernel_args: 'quiet' } })
    expect(patched.body).toMatchObject({ id, label: 'cycleos v2', fields: { ...kernel, kernel_args: 'quiet' } })
    expect((await call(sim, 'PATCH', `/v1/configurations/${id}`, { id, fields: { image_source: disk.image_source } })).status).toBe(400)
    expect((await call(sim, 'PATCH', `/v1/configurations/${id}`, { id: 'other', label: 'x' })).status).toBe(400)
    expect((await call(sim, 'PATCH', `/v1/configurations/${id}`, { label: 'x' })).status).toBe(400)
    for (const method of ['GET', 'DELETE']) expect((await call(sim, method, `/v1/configurations/${id}`, undefined, API_KEY_B)).status).toBe(404)
    expect(((await call(sim, 'GET', '/v1/configurations', undefined, API_KEY_B)).body as Array<{ id: string }>).map((item) => item.id)).not.toContain(id)
    expect((await call(sim, 'DELETE', `/v1/configurations/${id}`)).status).toBe(204)
    expect((await call(sim, 'GET', `/v1/configurations/${id}`)).status).toBe(404)
    expect((await call(sim, 'DELETE', `/v1/configurations/${id}`)).status).toBe(404)
  })

  test('unknown fields are not echoed back', async () => {
    const reply = await call(sim, 'POST', '/v1/configurations', { label: 'extra', fields: { ...kernel, surprise: true } })
    expect((reply.body as { fields: Record<string, unknown> }).fields.surprise).toBeUndefined()
  })
})

describe('public keys', () => {
  test('create with a fingerprint, list, get, delete; per organisation', async () => {
    const reply = await call(sim, 'POST', '/v1/public-keys', { label: 'laptop', fields: { key_data: SSH_KEY } })
    expect(reply.status).toBe(200)
    expect(Value.Check(PublicKey, reply.body)).toBe(true)
    expect(reply.body).toMatchObject({ type: 'public-keys', label: 'laptop', fields: { key_data: SSH_KEY, fingerprint: expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43}$/) } })
    const id = idOf(reply)
    expect(((await call(sim, 'GET', '/v1/public-keys')).body as Array<{ id: string }>).map((key) => key.id)).toContain(id)
    expect((await call(sim, 'GET', `/v1/public-keys/${id}`)).body).toMatchObject({ id, access: { role: 'owner' } })
    expect((await call(sim, 'GET', `/v1/public-keys/${id}`, undefined, API_KEY_B)).status).toBe(404)
    expect((await call(sim, 'GET', '/v1/public-keys', undefined, API_KEY_B)).body).toEqual([])
    expect((await call(sim, 'DELETE', `/v1/public-keys/${id}`)).status).toBe(204)
    expect((await call(sim, 'GET', `/v1/public-keys/${id}`)).status).toBe(404)
  })

  test.each([
    ['an unsupported key type', 'ssh-foo AAAAB3Nza'],
    ['bad base64', 'ssh-ed25519 !!!!'],
    ['no key data', '']
  ])('refuses %s', async (_name, keyData) => {
    expect((await call(sim, 'POST', '/v1/public-keys', { label: 'bad', fields: { key_data: keyData } })).status).toBe(400)
  })

  test('needs a label and key_data', async () => {
    expect((await call(sim, 'POST', '/v1/public-keys', { fields: { key_data: SSH_KEY } })).status).toBe(400)
    expect((await call(sim, 'POST', '/v1/public-keys', { label: 'x' })).status).toBe(400)
  })
})
