import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

interface ReflectionIndex {
  services: Record<string, unknown>;
  symbols: Record<string, unknown>;
}

/**
 * Server reflection for the Addition proto. The original proto has no package, and
 * @grpc/reflection 1.0 indexes package-less symbols with a leading dot (`.Addition`), which
 * grpcurl then cannot call. The index is re-keyed without the dot (the fully-qualified name
 * of a package-less symbol), keeping the dotted key too.
 */
export function createReflectionService(packageDefinition: PackageDefinition): ReflectionService {
  const reflection = new ReflectionService(packageDefinition);
  const implementations = Object.values(reflection as unknown as Record<string, Partial<ReflectionIndex>>);
  for (const index of implementations) {
    if (!index.services || !index.symbols) continue;
    for (const table of [index.services, index.symbols]) {
      for (const key of Object.keys(table)) if (key.startsWith('.')) table[key.slice(1)] = table[key];
    }
    for (const key of Object.keys(index.services)) if (key.startsWith('.')) delete index.services[key];
  }
  return reflection;
}
