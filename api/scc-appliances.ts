/**
 * SCC appliances: the inventory (connected product codes, appliances of a product code, one
 * appliance) and what can be installed where (upgrade, downgrade and reboot eligibility, and the
 * upgradeable and downgradeable versions of a product).
 */
import type { FastifyInstance } from 'fastify';
import {
  downgradeableVersions,
  downgradeEligibility,
  rebootEligibility,
  upgradeableVersions,
  upgradeEligibility,
} from '../domain/eligibility';
import { appliancesQuery, PRODUCT_CODES, productCode as productCodeSchema, type ProductCode } from '../domain/scc';
import { fleetFacts } from '../store/fleet-facts';
import { notFound } from './errors';
import { parseRequest } from './parse';
import type { SccOptions } from './scc-context';

type ProductParams = { Params: { product_code: string } };
type VersionParams = { Params: { product_code: string; version_id: string } };
/** Checked against the document before a handler runs (server.ts). */
type ApplianceParams = { Params: { product_code: ProductCode; serial: string } };

const productCodeOf = (value: string): ProductCode =>
  parseRequest(productCodeSchema, value, { prefix: 'product_code' });

export async function applianceRoutes(app: FastifyInstance, { store, require }: SccOptions): Promise<void> {
  app.get('/connected_product_codes', async (request) => {
    require(request, 'read');
    const connected = new Set((await store.listAppliances()).filter((a) => a.connected).map((a) => a.product_code));
    return PRODUCT_CODES.filter((code) => connected.has(code));
  });

  app.get<ApplianceParams>('/appliances/:product_code', async (request) => {
    require(request, 'read');
    const { group } = parseRequest(appliancesQuery, request.query);
    const appliances = await store.listAppliances({ product_code: request.params.product_code });
    if (group === undefined) return appliances;
    return appliances.filter((a) => Array.isArray(a.groups) && a.groups.includes(group));
  });

  app.get<ApplianceParams>('/appliances/:product_code/:serial', async (request) => {
    require(request, 'read');
    const { product_code: code, serial } = request.params;
    const appliance = await store.getAppliance(serial);
    if (!appliance || appliance.product_code !== code) throw notFound(`${code} appliance ${serial}`);
    return appliance;
  });
}

export async function eligibilityRoutes(app: FastifyInstance, { store, require }: SccOptions): Promise<void> {
  /** The facts for a target version of a product; a version no image reaches is a 404. */
  const factsFor = async ({ product_code, version_id }: VersionParams['Params']) => {
    const productCode = productCodeOf(product_code);
    const facts = await fleetFacts(store, productCode);
    if (!facts.index.hasTarget(productCode, version_id)) {
      throw notFound(`${productCode} image of version ${version_id}`);
    }
    return { productCode, ...facts, targetVersionId: version_id };
  };

  app.get<VersionParams>('/upgradeable_appliances/:product_code/:version_id', async (request) => {
    require(request, 'read');
    const { productCode, appliances, index, inProgress, targetVersionId } = await factsFor(request.params);
    return upgradeEligibility({ productCode, appliances, images: index, inProgress, targetVersionId });
  });

  app.get<VersionParams>('/downgradeable_appliances/:product_code/:version_id', async (request) => {
    require(request, 'read');
    const [facts, previousVersions] = await Promise.all([factsFor(request.params), store.previousVersionIdsBySerial()]);
    const { productCode, appliances, index, inProgress, targetVersionId } = facts;
    return downgradeEligibility({
      productCode,
      appliances,
      images: index,
      inProgress,
      previousVersions,
      targetVersionId,
    });
  });

  app.get<ProductParams>('/rebootable_appliances/:product_code', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const { appliances, inProgress } = await fleetFacts(store, productCode);
    return rebootEligibility({ productCode, appliances, inProgress });
  });

  app.get<ProductParams>('/versions/upgradeable/:product_code', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const { appliances, index, inProgress } = await fleetFacts(store, productCode);
    return upgradeableVersions(productCode, appliances, index, inProgress);
  });

  app.get<ProductParams>('/versions/downgradeable/:product_code', async (request) => {
    require(request, 'read');
    const productCode = productCodeOf(request.params.product_code);
    const [{ appliances, index, inProgress }, previousVersions] = await Promise.all([
      fleetFacts(store, productCode),
      store.previousVersionIdsBySerial(),
    ]);
    return downgradeableVersions(productCode, appliances, index, previousVersions, inProgress);
  });
}
