/**
 * The two generated views of the OpenMetal spec, the path types (openapi-typescript) and
 * the TypeBox schemas, come from one corrected document: where a correction changed the
 * spec, both say the same. These are type assertions, checked by `npm run typecheck`.
 */
import { expectTypeOf, test } from 'vitest'
import type { components, paths } from '../../../src/generated/openmetal-paths.ts'
import type * as OM from '../../../src/generated/openmetal.ts'

type Schemas = components['schemas']

test('a widened enum is a plain string in both: the pod list grows, cloud states are OpenMetal\'s', () => {
  expectTypeOf<Schemas['PodLocations']>().toEqualTypeOf<OM.PodLocations>()
  expectTypeOf<Schemas['PodLocations']>().toEqualTypeOf<string>()
  expectTypeOf<NonNullable<Schemas['CloudStats']['cloud_state']>>().toEqualTypeOf<NonNullable<OM.CloudStats['cloud_state']>>()
})

test('the token answer needs only access_token and expires_in in both', () => {
  type Token = paths['/v1/oauth2/token']['get']['responses'][200]['content']['application/json']
  expectTypeOf<Token['scope']>().toEqualTypeOf<OM.OAuthTokenResponse['scope']>()
  expectTypeOf<Pick<Token, 'access_token' | 'expires_in'>>().toEqualTypeOf<Pick<OM.OAuthTokenResponse, 'access_token' | 'expires_in'>>()
})
