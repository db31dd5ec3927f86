/** What a field's sub-selection asks for, fragments included. */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

function selects(set: SelectionSetNode | undefined, names: ReadonlySet<string>, info: GraphQLResolveInfo): boolean {
  if (!set) return false;
  return set.selections.some((s) => {
    if (s.kind === Kind.FIELD) return names.has(s.name.value);
    if (s.kind === Kind.INLINE_FRAGMENT) return selects(s.selectionSet, names, info);
    return selects(info.fragments[s.name.value]?.selectionSet, names, info);
  });
}

/** Whether the current field's selection names any of `names` directly under it. */
export const selectsAny = (info: GraphQLResolveInfo, names: ReadonlySet<string>): boolean =>
  info.fieldNodes.some((node) => selects(node.selectionSet, names, info));
