import { z } from 'zod';

/**
 * Imported first by the entry point, before any schema is built (zod reads the setting when a
 * schema is created). zod compiles each object schema to a function on its first parse: worth it
 * for long hot loops, not for a daemon that parses a few hundred small messages at boot, where the
 * compiling cost ~20 ms of CPU per process while a cluster forms.
 */
z.config({ jitless: true });
