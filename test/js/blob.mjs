// The Blob data plane with the unmodified @azure/storage-blob and
// DefaultAzureCredential from @azure/identity, as an application would use
// them: no Ward-specific option, only the environment `ward run` (workload
// identity) or `ward agent` (managed identity) gives the process, and the
// account URL.
//
// test/e2e/blob_javascript_test.go (under `ward run`) and blob_agent_test.go
// (through `ward agent`, read mode) run it with STORAGE_ACCOUNT_URL and a mode:
//   flow    the identity holds Storage Blob Data Contributor: create a
//           container, upload in blocks (Put Block + Put Block List),
//           ranged download, metadata, conditional write, paged list with
//           metadata, hierarchy, deletes; prints "ok <step>" per step and
//           "BLOB FLOW OK".
//   denied CONTAINER BLOB
//           the identity holds no data role: creating a container,
//           reading the blob and listing are each refused with the SDK's
//           RestError, status 403, code AuthorizationPermissionMismatch;
//           prints "ok denied ...".
//   reader CONTAINER BLOB
//           the identity holds Storage Blob Data Reader: it reads the blob,
//           and its upload and delete are refused as above; prints
//           "ok reader ...".
//   read CONTAINER BLOB
//           prints the blob's content; on a RestError prints
//           "error <status> <code>" and exits 1.
import { DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient, RestError, newPipeline } from "@azure/storage-blob";
import { randomBytes } from "node:crypto";

const accountURL = process.env.STORAGE_ACCOUNT_URL;
if (!accountURL) throw new Error("STORAGE_ACCOUNT_URL is not set");
const [mode, ...args] = process.argv.slice(2);

// Every request the SDK sends, seen through a request policy added to the
// SDK's own pipeline (its retries, proxy settings and bearer policy stay as
// they are), so the flow can show that the upload really went in blocks.
const sent = [];
const credential = new DefaultAzureCredential({ disableInstanceDiscovery: true });
const pipeline = newPipeline(credential);
pipeline.factories.push({
  create: (next) => ({
    sendRequest(req) {
      sent.push(`${req.method} ${new URL(req.url).search}`);
      return next.sendRequest(req);
    },
  }),
});
const service = new BlobServiceClient(accountURL, pipeline);

function ok(step, detail = "") {
  console.log(`ok ${step}${detail ? " " + detail : ""}`);
}
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}
// errorCode is what the service said: the body's <Code>, or for a HEAD
// (no body) the x-ms-error-code header, which the SDK puts in details.
const errorCode = (e) => e.code ?? e.details?.errorCode;
async function refused(promise, status, code) {
  try {
    await promise;
  } catch (e) {
    if (e instanceof RestError && e.statusCode === status && errorCode(e) === code) return e;
    throw new Error(`want RestError ${status} ${code}, got ${e.name} ${e.statusCode} ${errorCode(e)}: ${e.message}`);
  }
  throw new Error(`want RestError ${status} ${code}, got success`);
}
async function readAll(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

async function flow() {
  const name = `js-${Date.now().toString(36)}`;
  const container = service.getContainerClient(name);
  await container.create({ metadata: { team: "js" } });
  await refused(container.create(), 409, "ContainerAlreadyExists");
  ok("container-create", name);

  // Larger than maxSingleShotSize: the SDK stages 1 MiB blocks and commits
  // the list.
  const big = randomBytes(5 * 1024 * 1024 + 123);
  const bigBlob = container.getBlockBlobClient("dir/big.bin");
  const before = sent.length;
  await bigBlob.uploadData(big, {
    blockSize: 1024 * 1024,
    maxSingleShotSize: 1024 * 1024,
    concurrency: 3,
    metadata: { kind: "random" },
    blobHTTPHeaders: { blobContentType: "application/x-test" },
  });
  const upload = sent.slice(before);
  const blocks = upload.filter((r) => r.startsWith("PUT ") && /[?&]comp=block(&|$)/.test(r)).length;
  const lists = upload.filter((r) => r.startsWith("PUT ") && /[?&]comp=blocklist(&|$)/.test(r)).length;
  check(blocks === 6 && lists === 1, `upload sent ${blocks} Put Block and ${lists} Put Block List: ${upload.join(", ")}`);
  ok("upload-blocks", `${blocks} blocks`);

  for (const n of ["a.txt", "b.txt", "dir/c.txt", "dir/sub/d.txt", "e.txt"]) {
    await container.getBlockBlobClient(n).upload(`hello ${n}`, `hello ${n}`.length, { metadata: { n: n.replace(/\W/g, "_") } });
  }
  ok("upload-single");

  const whole = await readAll((await bigBlob.download()).readableStreamBody);
  check(whole.equals(big), `download: ${whole.length} bytes, want ${big.length}`);
  const offset = 3 * 1024 * 1024;
  const part = await bigBlob.download(offset, 1000);
  const partBytes = await readAll(part.readableStreamBody);
  check(partBytes.equals(big.subarray(offset, offset + 1000)), `range: ${partBytes.length} bytes`);
  check(part.contentRange === `bytes ${offset}-${offset + 999}/${big.length}`, `Content-Range ${part.contentRange}`);
  check(part.contentType === "application/x-test", `content type ${part.contentType}`);
  const buf = await bigBlob.downloadToBuffer(0, undefined, { blockSize: 1024 * 1024, concurrency: 4 });
  check(buf.equals(big), "downloadToBuffer in parallel ranges");
  ok("download-range");

  const props = await bigBlob.getProperties();
  check(props.contentLength === big.length && props.metadata?.kind === "random", `properties ${props.contentLength} ${JSON.stringify(props.metadata)}`);
  await bigBlob.setMetadata({ stage: "two" });
  await refused(bigBlob.getProperties({ conditions: { ifMatch: props.etag } }), 412, "ConditionNotMet");
  await refused(
    container.getBlockBlobClient("a.txt").upload("again", 5, { conditions: { ifNoneMatch: "*" } }),
    409,
    "BlobAlreadyExists",
  );
  ok("properties-metadata");

  const names = [];
  let pages = 0;
  let bigMeta;
  const pagedBefore = sent.length;
  for await (const page of container.listBlobsFlat({ includeMetadata: true }).byPage({ maxPageSize: 2 })) {
    pages++;
    check(page.segment.blobItems.length <= 2, `page of ${page.segment.blobItems.length}`);
    for (const b of page.segment.blobItems) {
      names.push(b.name);
      if (b.name === "dir/big.bin") bigMeta = b;
    }
  }
  const want = ["a.txt", "b.txt", "dir/big.bin", "dir/c.txt", "dir/sub/d.txt", "e.txt"];
  check(JSON.stringify(names) === JSON.stringify(want), `flat list ${names}`);
  check(pages === 3, `${pages} pages, want 3`);
  check(sent.slice(pagedBefore).filter((r) => /[?&]marker=/.test(r)).length === 2, "pages 2 and 3 sent the marker");
  check(bigMeta?.metadata?.stage === "two" && bigMeta.properties.contentLength === big.length, `listed big.bin ${JSON.stringify(bigMeta)}`);
  const items = [];
  const prefixes = [];
  for await (const it of container.listBlobsByHierarchy("/", { prefix: "dir/" })) {
    (it.kind === "prefix" ? prefixes : items).push(it.name);
  }
  check(items.join(",") === "dir/big.bin,dir/c.txt" && prefixes.join(",") === "dir/sub/", `hierarchy ${items} ${prefixes}`);
  const containers = [];
  for await (const c of service.listContainers({ includeMetadata: true })) containers.push(c);
  check(containers.some((c) => c.name === name && c.metadata?.team === "js"), `containers ${JSON.stringify(containers.map((c) => c.name))}`);
  ok("list-paged", `${pages} pages`);

  await container.deleteBlob("e.txt");
  await refused(container.deleteBlob("e.txt"), 404, "BlobNotFound");
  await container.delete();
  await refused(container.getProperties(), 404, "ContainerNotFound");
  ok("delete");
  console.log("BLOB FLOW OK");
}

async function denied() {
  const [c, b] = args;
  const e = await refused(service.getContainerClient("denied").create(), 403, "AuthorizationPermissionMismatch");
  await refused(service.getContainerClient(c).getBlobClient(b).download(), 403, "AuthorizationPermissionMismatch");
  await refused(service.getContainerClient(c).listBlobsFlat().next(), 403, "AuthorizationPermissionMismatch");
  ok("denied", `${e.statusCode} ${errorCode(e)}`);
}

async function reader() {
  const [c, b] = args;
  const container = service.getContainerClient(c);
  const got = await readAll((await container.getBlobClient(b).download()).readableStreamBody);
  check(got.length > 0, "the reader read the blob");
  const e = await refused(container.getBlockBlobClient("reader.txt").upload("x", 1), 403, "AuthorizationPermissionMismatch");
  await refused(container.deleteBlob(b), 403, "AuthorizationPermissionMismatch");
  ok("reader", `read ${got.length} bytes; write ${e.statusCode} ${errorCode(e)}`);
}

async function read() {
  const [c, b] = args;
  try {
    const res = await service.getContainerClient(c).getBlobClient(b).download();
    process.stdout.write(await readAll(res.readableStreamBody));
  } catch (e) {
    if (e instanceof RestError) {
      console.log(`error ${e.statusCode} ${errorCode(e)}`);
      process.exit(1);
    }
    throw e;
  }
}

const modes = { flow, denied, reader, read };
if (!modes[mode]) throw new Error(`mode ${mode}: want one of ${Object.keys(modes)}`);
await modes[mode]();
