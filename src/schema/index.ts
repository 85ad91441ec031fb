import { type GraphQLSchema, isInterfaceType, isObjectType } from 'graphql';
import { builder } from './builder.ts';
import './server.ts';
import './participant.ts';
import './message.ts';
import './conversation.ts';
import './account.ts';
import './user-error.ts';
import './send.ts';
import './reaction.ts';
import './sender-action.ts';
import './events.ts';
import './media.ts';
import './account-media.ts';
import './comment.ts';
import './comment-events.ts';
import './insights.ts';
import './publishing.ts';
import './routing.ts';
import './messaging-profile.ts';
import './referral.ts';
import './welcome-flows.ts';

/**
 * A field an object type (or interface) inherits from an interface takes the interface field's
 * description, and its arguments' descriptions, where it has none of its own.
 */
function inheritDescriptions(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const fields = type.getFields();
    for (const parent of type.getInterfaces()) {
      for (const from of Object.values(parent.getFields())) {
        const field = fields[from.name];
        if (!field) continue;
        field.description ??= from.description;
        for (const arg of field.args) {
          arg.description ??= from.args.find((a) => a.name === arg.name)?.description;
        }
      }
    }
  }
  return schema;
}

export const schema = inheritDescriptions(builder.toSchema({ sortSchema: true }));
