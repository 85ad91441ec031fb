import { builder } from './builder.ts';
import './server.ts';

export const schema = builder.toSchema({ sortSchema: true });
