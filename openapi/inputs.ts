/**
 * What the schema generator reads and what it emits.
 *
 * The upstream specs are reference data, never copied into this repository: the generator
 * reads pinned copies (see the README's Contributing section) from OPENAPI_SPECS_DIR, else
 * `../shared/openapi`, else a download at the pinned commits, and every file must match its
 * SHA-256 in openapi/specs.sha256.
 */

export interface SpecPin {
  /** folder under the specs directory */
  readonly folder: string
  /** entry document inside that folder */
  readonly entry: string
  /** github.com/<owner>/<name> */
  readonly repository: string
  /** the folder's path in that repository, with a trailing slash */
  readonly path: string
  readonly commit: string
}

/** Where a pinned file is downloaded from: GitHub's raw files, addressed by commit. */
export const PINNED_DOWNLOAD_BASE = 'https://raw.githubusercontent.com'

/** `<base>/<owner>/<name>/<commit>/<path><file>`: `file` is relative to the pin's folder. */
export function pinnedDownloadUrl (pin: SpecPin, file: string, base = PINNED_DOWNLOAD_BASE): string {
  const repository = pin.repository.replace(/^github\.com\//, '')
  const path = `${pin.path}${file}`.split('/').map(encodeURIComponent).join('/')
  return `${base.replace(/\/+$/, '')}/${repository}/${pin.commit}/${path}`
}

export const cycleIalPin: SpecPin = {
  folder: 'cycle-ial',
  entry: 'api.yml',
  repository: 'github.com/cycleplatform/api-spec',
  path: 'ial/',
  commit: 'e9bc7e9b47c777e8633db29c5197af0582ae4362'
}

export const openMetalPin: SpecPin = {
  folder: 'openmetal',
  entry: 'openapi.yaml',
  repository: 'github.com/openmetalio/openmetal-docs',
  path: 'api/',
  commit: 'd92dbf2b7bf1109477ad163d9e3a8d5bf73e19d8'
}

/** Every pinned spec; openapi/specs.sha256 lists the files of each one's folder. */
export const specPins: readonly SpecPin[] = [cycleIalPin, openMetalPin]

/**
 * OpenMetal schemas the client and the simulator use, by JSON pointer into the corrected,
 * dereferenced document. Inline path schemas get a name here.
 */
export const openMetalSelections: ReadonlyArray<{ readonly name: string; readonly pointer: string }> = [
  { name: 'OAuthTokenResponse', pointer: '/paths/~1v1~1oauth2~1token/get/responses/200/content/application~1json/schema' },
  { name: 'LocationDetails', pointer: '/components/schemas/LocationDetails' },
  { name: 'Locations', pointer: '/components/schemas/Locations' },
  { name: 'PodLocations', pointer: '/components/schemas/PodLocations' },
  { name: 'ProductCatalog', pointer: '/components/schemas/ProductCatalog' },
  { name: 'HardwareType', pointer: '/components/schemas/HardwareType' },
  { name: 'HardwareProduct', pointer: '/components/schemas/HardwareProduct' },
  { name: 'StorageComponent', pointer: '/components/schemas/StorageComponent' },
  { name: 'DriveDetails', pointer: '/components/schemas/DriveDetails' },
  { name: 'BandwidthDetails', pointer: '/components/schemas/BandwidthDetails' },
  { name: 'InventoryAvailability', pointer: '/components/schemas/InventoryAvailability' },
  { name: 'OrderFields', pointer: '/components/schemas/OrderFields' },
  { name: 'OrderRequest', pointer: '/components/schemas/OrderRequest' },
  { name: 'OrderResponse', pointer: '/components/schemas/OrderResponse' },
  { name: 'OrderCollection', pointer: '/components/schemas/OrderCollection' },
  { name: 'GetOrder', pointer: '/components/schemas/GetOrder' },
  { name: 'Cloud', pointer: '/components/schemas/Cloud' },
  { name: 'CloudStats', pointer: '/components/schemas/CloudStats' },
  { name: 'CloudStatsNode', pointer: '/components/schemas/CloudStatsNode' },
  { name: 'CloudStatsVlan', pointer: '/components/schemas/CloudStatsVlan' },
  { name: 'PowerStateRequest', pointer: '/paths/~1v1~1deployment~1cloud~1{cloudId}~1node~1{nodeUuid}~1power/post/requestBody/content/application~1json/schema' },
  { name: 'PowerStateResponse', pointer: '/paths/~1v1~1deployment~1cloud~1{cloudId}~1node~1{nodeUuid}~1power/post/responses/200/content/application~1json/schema' },
  { name: 'ImageConfiguration', pointer: '/components/schemas/ImageConfiguration' },
  { name: 'CreateImageConfigRequest', pointer: '/components/schemas/CreateImageConfigRequest' },
  { name: 'PrefixResource', pointer: '/components/schemas/PrefixResource' },
  { name: 'PrefixCreateRequest', pointer: '/components/schemas/PrefixCreateRequest' },
  { name: 'VlanResource', pointer: '/components/schemas/VlanResource' },
  { name: 'IpAddress', pointer: '/components/schemas/IpAddress' },
  { name: 'PrefixDetailed', pointer: '/components/schemas/PrefixDetailed' },
  { name: 'CreateIpAddressRequest', pointer: '/paths/~1v1~1deployment~1network~1prefixes~1{prefixId}~1ip/post/requestBody/content/application~1json/schema' },
  { name: 'AccountProfile', pointer: '/components/schemas/AccountProfile' }
]
