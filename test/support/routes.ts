import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { AUTH_POLICY } from '@app/common/auth';

export interface RouteInfo {
  method: string;
  path: string;
  controller: string;
  handler: string;
  policy: string | undefined;
}

function join(...parts: Array<string | undefined>): string {
  return '/' + parts.map((p) => (p ?? '').replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/');
}

/** Every route the application registered, with the access policy its decorators declare. */
export function listRoutes(app: INestApplication, prefix = 'api/v1'): RouteInfo[] {
  const reflector = new Reflector();
  const routes: RouteInfo[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const cls = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (!cls) continue;
      const base = Reflect.getMetadata(PATH_METADATA, cls) as string | string[] | undefined;
      const proto = cls.prototype;
      for (const name of Object.getOwnPropertyNames(proto)) {
        if (name === 'constructor') continue;
        const handler = proto[name];
        if (typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue;
        const policy = reflector.getAllAndOverride<string | undefined>(AUTH_POLICY, [handler, cls]);
        for (const b of [base].flat()) {
          for (const p of [path].flat()) {
            routes.push({ method: RequestMethod[method], path: join(prefix, b, p), controller: cls.name, handler: name, policy });
          }
        }
      }
    }
  }
  return routes;
}
