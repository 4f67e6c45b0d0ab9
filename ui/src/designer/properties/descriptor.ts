/**
 * The moddle extension for Baton's properties on BPMN elements:
 *
 * ```xml
 * <bpmn:extensionElements>
 *   <custom:properties>
 *     <custom:property name="ResponsibleTeam" value="MANAGERS"/>
 *   </custom:properties>
 * </bpmn:extensionElements>
 * ```
 *
 * in the namespace `http://baton.dev/schema/custom`, as the engine and bpmn-templates/ use it.
 */
export const BATON_NS = 'http://baton.dev/schema/custom';

export const batonDescriptor = {
  name: 'Baton',
  prefix: 'custom',
  uri: BATON_NS,
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  types: [
    {
      name: 'Properties',
      superClass: ['Element'],
      properties: [{ name: 'values', type: 'Property', isMany: true }],
    },
    {
      name: 'Property',
      superClass: ['Element'],
      properties: [
        { name: 'name', type: 'String', isAttr: true },
        { name: 'value', type: 'String', isAttr: true },
      ],
    },
  ],
};
