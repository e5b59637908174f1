/**
 * SCC images, image repositories, eligibility and versions: what can be installed where.
 *
 * Images live in two repositories: `customer` (sources `local` — uploaded to this service — and
 * `customer_url` — hosted at the customer's URL) and `riverbed` (Riverbed-hosted, with the source
 * versions each supports). The service cannot read an image's definition from its bytes, so an
 * upload or URL registration must carry `image_definition` (an extension property the seed's
 * `<prop>: any` allows).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { downgradeableVersions, downgradeEligibility, rebootEligibility, upgradeableVersions, upgradeEligibility } from '../domain/eligibility';
import type { Logger } from '../domain/logging';
import { customerUrlHostedImageRegister, imagesQuery, imageDefinition, IMAGE_REPOSITORIES, locallyHostedImageUpload, productCode as productCodeSchema, type Appliance, type ProductCode } from '../domain/scc';
import { fleetFacts as readFleetFacts } from '../store/fleet-facts';
import type { FleetStore, ImageSource, StoredImage } from '../store/fleet-store';
import type { Permission } from './auth';
import { notFound } from './errors';

export interface ImageRouteOptions {
  store: FleetStore;
  logger: Logger;
  require: (request: FastifyRequest, permission: Permission) => string;
  parse: <T extends z.ZodType>(schema: T, value: unknown, prefix?: string) => z.output<T>;
}


/** The seed's `image`: the stored image with the source it came from. */
const asImage = ({ source, image }: StoredImage) => ({ ...image, image_sources: [source] });

export async function sccImageRoutes(app: FastifyInstance, { store, logger, require, parse }: ImageRouteOptions): Promise<void> {
  const productCodeOf = (value: string): ProductCode => parse(productCodeSchema, value, 'product_code');

  const fleetFacts = (productCode: ProductCode) => readFleetFacts(store, productCode);

  // Images and repositories ------------------------------------------------------------------

  app.get('/images', async (request) => {
    require(request, 'read');
    const { product_code } = parse(imagesQuery, request.query);
    return (await store.listImages(product_code ? { product_code } : {})).map(asImage);
  });

  app.get<{ Params: { id: string } }>('/images/:id', async (request) => {
    require(request, 'read');
    const stored = await store.getImage(request.params.id);
    if (!stored) throw notFound(`image ${request.params.id}`);
    return asImage(stored);
  });

  app.get('/image_repositories', async (request) => {
    require(request, 'read');
    return IMAGE_REPOSITORIES;
  });

  const listSource = (source: ImageSource) => async (request: FastifyRequest) => {
    require(request, 'read');
    return (await store.listImages({ source })).map((s) => s.image);
  };
  const getOne = (source: ImageSource, what: string) => async (request: FastifyRequest<{ Params: { id: string } }>) => {
    require(request, 'read');
    const stored = await store.getImage(request.params.id);
    if (!stored || stored.source !== source) throw notFound(`${what} ${request.params.id}`);
    return stored.image;
  };
  const deleteOne = (source: ImageSource, what: string) => async (request: FastifyRequest<{ Params: { id: string } }>, reply: import('fastify').FastifyReply) => {
    const username = require(request, 'operate');
    if (!(await store.deleteImage(request.params.id, source))) throw notFound(`${what} ${request.params.id}`);
    logger.info({ imageId: request.params.id, source, username }, 'image deleted');
    return reply.code(204).send();
  };

  app.get('/image_repositories/customer/local_images', listSource('local'));
  app.get('/image_repositories/customer/local_image/:id', getOne('local', 'locally hosted image'));
  app.delete('/image_repositories/customer/local_image/:id', deleteOne('local', 'locally hosted image'));
  app.post('/image_repositories/customer/local_images', async (request, reply) => {
    const username = require(request, 'operate');
    const body = parse(locallyHostedImageUpload.extend({ image_definition: imageDefinition }), request.body);
    const image = { ...body, id: randomUUID(), modification_time: Math.floor(Date.now() / 1000) };
    await store.addImage({ repository: 'customer', source: 'local', image });
    logger.info({ imageId: image.id, username, version: body.image_definition.target_version.version_id }, 'image uploaded');
    return reply.code(201).send(image);
  });

  app.get('/image_repositories/customer/urls', listSource('customer_url'));
  app.get('/image_repositories/customer/url/:id', getOne('customer_url', 'customer URL hosted image'));
  app.delete('/image_repositories/customer/url/:id', deleteOne('customer_url', 'customer URL hosted image'));
  app.post('/image_repositories/customer/urls', async (request, reply) => {
    const username = require(request, 'operate');
    const body = parse(customerUrlHostedImageRegister.extend({ url: z.url(), image_definition: imageDefinition }), request.body);
    const image = { ...body, id: randomUUID(), registration_time: Math.floor(Date.now() / 1000) };
    await store.addImage({ repository: 'customer', source: 'customer_url', image });
    logger.info({ imageId: image.id, username, version: body.image_definition.target_version.version_id }, 'image URL registered');
    return reply.code(201).send(image);
  });

  app.get('/image_repositories/riverbed/images', listSource('riverbed'));
  app.get('/image_repositories/riverbed/image/:id', getOne('riverbed', 'Riverbed hosted image'));

  // Eligibility and versions -----------------------------------------------------------------

  app.get<{ Params: { product_code: string; version_id: string } }>('/upgradeable_appliances/:product_code/:version_id', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const { appliances, index, inProgress } = await fleetFacts(productCode);
    if (!index.hasTarget(productCode, request.params.version_id)) throw notFound(`${productCode} image of version ${request.params.version_id}`);
    return upgradeEligibility({ productCode, appliances, images: index, inProgress, targetVersionId: request.params.version_id });
  });

  app.get<{ Params: { product_code: string; version_id: string } }>('/downgradeable_appliances/:product_code/:version_id', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const [{ appliances, index, inProgress }, previousVersions] = await Promise.all([fleetFacts(productCode), store.previousVersionIdsBySerial()]);
    if (!index.hasTarget(productCode, request.params.version_id)) throw notFound(`${productCode} image of version ${request.params.version_id}`);
    return downgradeEligibility({ productCode, appliances, images: index, inProgress, previousVersions, targetVersionId: request.params.version_id });
  });

  app.get<{ Params: { product_code: string } }>('/rebootable_appliances/:product_code', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const { appliances, inProgress } = await fleetFacts(productCode);
    return rebootEligibility({ productCode, appliances, inProgress });
  });

  app.get<{ Params: { product_code: string } }>('/versions/upgradeable/:product_code', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const { appliances, index, inProgress } = await fleetFacts(productCode);
    return upgradeableVersions(productCode, appliances, index, inProgress);
  });

  app.get<{ Params: { product_code: string } }>('/versions/downgradeable/:product_code', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const [{ appliances, index, inProgress }, previousVersions] = await Promise.all([fleetFacts(productCode), store.previousVersionIdsBySerial()]);
    return downgradeableVersions(productCode, appliances, index, previousVersions, inProgress);
  });
}
