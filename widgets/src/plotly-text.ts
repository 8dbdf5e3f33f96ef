/**
 * A user's name as plotly.js text that shows exactly those characters. Plotly draws titles and
 * hover templates as a small HTML subset: it splits the string at tags, draws <b>, <i>, <sup>,
 * <span style>, <a href> and <br> as such, keeps other tags as text, and decodes entities in
 * the text (no script runs either way). So `a<br>b` would break the line and `&amp;` show `&`;
 * with &, < and > written as the entities it decodes, the name holds no tag and reads as typed.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

export function plotlyLiteral(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c]);
}
