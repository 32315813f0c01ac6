/**
 * The adapter's own API description: OpenAPI 3.1 from the routes' schemas (only tagged routes,
 * the IAL's), served as /openapi.json and browsable at /docs. Wraps the root, so that the
 * description sees every route registered after it.
 */
import { createRequire } from 'node:module'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

/** The version the adapter says it is: package.json's, one version everywhere. */
const PACKAGE_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

export const docs = fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Cycle IAL adapter for OpenMetal', version: PACKAGE_VERSION, description: 'The ten Cycle Infrastructure Abstraction Layer endpoints, served for OpenMetal bare metal.' }
    },
    hideUntagged: true
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', async () => app.swagger())
}, { name: 'docs', fastify: '5.x' })
