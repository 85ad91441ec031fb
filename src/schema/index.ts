import { builder } from './builder.ts';
import './server.ts';
import './participant.ts';
import './message.ts';
import './conversation.ts';
import './account.ts';
import './send.ts';
import './events.ts';

export const schema = builder.toSchema({ sortSchema: true });
