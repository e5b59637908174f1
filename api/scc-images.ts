/**
 * SCC images and image repositories (eligibility and versions: scc-appliances.ts).
 *
 * Images live in two repositories: `customer` (sources `local` — uploaded to this service — and
 * `customer_url` — hosted at the customer's URL) and `riverbed` (Riverbed-hosted, with the source
 * versions each supports). A repository holds each image definition once (the store refuses a
 * second copy); `GET /images` answers one image per definition with every source it is available
 * from (domain/image-identity.ts), while each source's own list keeps its own ids and shapes.
 *
 * An upload or URL registration is `{ url, <prop> }` (the seed): the definition is read from the
 * image's manifest (domain/image-manifest.ts), only its head (api/image-head.ts). An
 * `image_definition` extension property may be sent too: it must agree with the manifest, and it
 * is taken as given when there is no url (uploads only) or the image cannot be read.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeImageDefinition, imageIdOf, imagesByDefinition, sameImageDefinition } from '../domain/image-identity';
import { modificationTimeOf, withRequestDefinition } from '../domain/image-manifest';
import type { Logger } from '../domain/logging';
import {
  customerUrlHostedImageRegister,
  imagesQuery,
  IMAGE_REPOSITORIES,
  locallyHostedImageUpload,
  type ImageDefinition,
} from '../domain/scc';
import { ImageExistsError, type FleetStore, type ImageSource, type StoredImage } from '../store/fleet-store';
import { ApiError, badRequest, notFound } from './errors';
import { readImageManifest, redactUrl, type ImageManifestRead } from './image-head';
import { parseRequest } from './parse';
import { nowSeconds, type SccOptions } from './scc-context';

type CustomerSource = Extract<ImageSource, 'local' | 'customer_url'>;

/**
 * The URL schemes each customer source takes: appliances download a customer URL hosted image
 * from its URL themselves, so it must be http(s); an upload may also name a file already put on
 * this host (the seed: "can be a file URL").
 */
const SCHEMES: Record<CustomerSource, readonly string[]> = {
  local: ['http:', 'https:', 'file:'],
  customer_url: ['http:', 'https:'],
};

/** What an upload or registration request says about its image (the rest is `<prop>`). */
interface ImageRequest {
  url?: string | undefined;
  image_definition?: ImageDefinition | undefined;
}

/** The image's definition, and when it was built if its manifest says. */
interface ResolvedImage {
  image_definition: ImageDefinition;
  build_timestamp?: number | undefined;
}

function requestUrl(raw: string, source: CustomerSource): URL {
  const url = new URL(raw); // the schema took it as a URL
  if (SCHEMES[source].includes(url.protocol)) return url;
  throw badRequest(
    'url',
    source === 'customer_url'
      ? `a customer URL hosted image needs an http or https URL (appliances download it from there), not ${url.protocol}`
      : `the image's URL must be http, https or file, not ${url.protocol}`,
  );
}

/** No manifest to read: the request's image_definition is taken as given, or the request is refused naming what to give. */
function withoutManifest(
  read: Extract<ImageManifestRead, { ok: false }>,
  url: URL,
  given: ImageDefinition | undefined,
  logger: Logger,
): ResolvedImage {
  const at = redactUrl(url);
  if (given) {
    logger.warn(
      { url: at, problem: read.problem, reason: read.reason },
      "image manifest not read; the request's image_definition is taken as given",
    );
    return { image_definition: given };
  }
  throw badRequest(
    'url',
    read.problem === 'unreadable'
      ? `could not read the image at ${at} (${read.reason}); give its image_definition`
      : `the image at ${at} has no readable manifest (${read.reason}); give its image_definition`,
  );
}

/** The definition of the image a request names: from its manifest, else from the request (see the file comment). */
async function resolveImage(body: ImageRequest, source: CustomerSource, logger: Logger): Promise<ResolvedImage> {
  const given = body.image_definition;
  if (body.url === undefined) {
    if (source === 'customer_url') throw badRequest('url', 'give the URL the image is hosted at');
    if (given) return { image_definition: given };
    throw badRequest('url', "give the image's url (or an image_definition)");
  }
  const url = requestUrl(body.url, source);
  const read = await readImageManifest(url);
  if (!read.ok) return withoutManifest(read, url, given, logger);
  const { image_definition: found, build_timestamp } = read.manifest;
  if (given && !sameImageDefinition(given, found)) {
    throw badRequest(
      'image_definition',
      `differs from the manifest of the image at ${redactUrl(url)}: the image is ${describeImageDefinition(found)}, the request says ${describeImageDefinition(given)}`,
    );
  }
  return { image_definition: withRequestDefinition(found, given), build_timestamp };
}

/** Adds a customer image; a definition the repository holds already is a 409 naming that image. */
async function addCustomerImage(store: FleetStore, stored: StoredImage): Promise<void> {
  try {
    await store.addImage(stored);
  } catch (err) {
    if (!(err instanceof ImageExistsError)) throw err;
    const held = `${describeImageDefinition(err.existing.image.image_definition)} as ${err.existing.source} image ${err.existing.image.id}`;
    throw new ApiError(
      409,
      'IMAGE_EXISTS',
      `image_definition: the customer repository already holds image ${err.imageId} (${held})`,
      'image_definition',
    );
  }
}

/**
 * An image as answered: a password in its URL (the devices need it; the store keeps it) is never
 * answered, only `***` in its place.
 */
function answered<T extends Record<string, unknown>>(image: T): T {
  if (typeof image.url !== 'string') return image;
  let url: URL;
  try {
    url = new URL(image.url);
  } catch {
    return image;
  }
  if (!url.password) return image;
  url.password = '***';
  return { ...image, url: url.href };
}

type ImageParams = { Params: { id: string } };

/** Reads of one source's images, and deletes of the customer's. */
function sourceHandlers({ store, logger, require }: SccOptions, source: ImageSource, what: string) {
  return {
    list: async (request: FastifyRequest) => {
      require(request, 'read');
      return (await store.listImages({ source })).map((s) => answered(s.image));
    },
    getOne: async (request: FastifyRequest<ImageParams>) => {
      require(request, 'read');
      const stored = await store.getImage(request.params.id);
      if (!stored || stored.source !== source) throw notFound(`${what} ${request.params.id}`);
      return answered(stored.image);
    },
    deleteOne: async (request: FastifyRequest<ImageParams>, reply: FastifyReply) => {
      const username = require(request, 'operate');
      if (!(await store.deleteImage(request.params.id, source))) throw notFound(`${what} ${request.params.id}`);
      logger.info({ imageId: request.params.id, source, username }, 'image deleted');
      return reply.code(204).send();
    },
  };
}

export async function sccImageRoutes(app: FastifyInstance, options: SccOptions): Promise<void> {
  const { store, require } = options;

  app.get('/images', async (request) => {
    require(request, 'read');
    const { product_code } = parseRequest(imagesQuery, request.query);
    return imagesByDefinition(await store.listImages(product_code ? { product_code } : {}));
  });

  app.get<ImageParams>('/images/:id', async (request) => {
    require(request, 'read');
    const [image] = imagesByDefinition(await store.imagesOfDefinition(request.params.id));
    if (!image) throw notFound(`image ${request.params.id}`);
    return image;
  });

  app.get('/image_repositories', async (request) => {
    require(request, 'read');
    return IMAGE_REPOSITORIES;
  });

  const local = sourceHandlers(options, 'local', 'locally hosted image');
  app.get('/image_repositories/customer/local_images', local.list);
  app.get('/image_repositories/customer/local_image/:id', local.getOne);
  app.delete('/image_repositories/customer/local_image/:id', local.deleteOne);
  app.post('/image_repositories/customer/local_images', async (request, reply) => {
    const image = await uploadImage(options, request);
    return reply.code(201).send(answered(image));
  });

  const urls = sourceHandlers(options, 'customer_url', 'customer URL hosted image');
  app.get('/image_repositories/customer/urls', urls.list);
  app.get('/image_repositories/customer/url/:id', urls.getOne);
  app.delete('/image_repositories/customer/url/:id', urls.deleteOne);
  app.post('/image_repositories/customer/urls', async (request, reply) => {
    const image = await registerImageUrl(options, request);
    return reply.code(201).send(answered(image));
  });

  const riverbed = sourceHandlers(options, 'riverbed', 'Riverbed hosted image');
  app.get('/image_repositories/riverbed/images', riverbed.list);
  app.get('/image_repositories/riverbed/image/:id', riverbed.getOne);
}

/** An upload: the image (by URL, file URLs too) and its definition, from its manifest or the request. */
async function uploadImage({ store, logger, require }: SccOptions, request: FastifyRequest) {
  const username = require(request, 'operate');
  const body = parseRequest(locallyHostedImageUpload, request.body);
  const { image_definition, build_timestamp } = await resolveImage(body, 'local', logger);
  const modification_time = modificationTimeOf(build_timestamp, image_definition, nowSeconds());
  const image = { ...body, image_definition, id: randomUUID(), modification_time };
  await addCustomerImage(store, { repository: 'customer', source: 'local', image });
  const url = body.url && redactUrl(body.url);
  const version = image_definition.target_version.version_id;
  logger.info({ imageId: image.id, image: imageIdOf(image_definition), username, url, version }, 'image uploaded');
  return image;
}

/** A registration of an image hosted at the customer's URL. */
async function registerImageUrl({ store, logger, require }: SccOptions, request: FastifyRequest) {
  const username = require(request, 'operate');
  const body = parseRequest(customerUrlHostedImageRegister, request.body);
  const { image_definition } = await resolveImage(body, 'customer_url', logger);
  const image = { ...body, image_definition, url: body.url!, id: randomUUID(), registration_time: nowSeconds() };
  await addCustomerImage(store, { repository: 'customer', source: 'customer_url', image });
  const url = redactUrl(image.url);
  const version = image_definition.target_version.version_id;
  logger.info(
    { imageId: image.id, image: imageIdOf(image_definition), username, url, version },
    'image URL registered',
  );
  return image;
}
