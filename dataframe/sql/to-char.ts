// PostgreSQL's to_char(date or timestamp, template) as eau2's strftime (query/fns-time.ts): the
// template's patterns become strftime codes when the statement is planned, so one function formats on
// the nodes. The patterns strftime has no code for are refused by name rather than copied as text
// (PostgreSQL would read them as patterns, so copying them would give another answer).
// docs/dataframe.md "SQL".

/** Template patterns eau2 reads, longest first where one is a prefix of another. */
const PATTERNS: [string, string][] = [
  ['HH24', '%H'],
  ['HH12', '%I'],
  ['HH', '%I'],
  ['MI', '%M'],
  ['SS', '%S'],
  ['MS', '%g'],
  ['US', '%f'],
  ['YYYY', '%Y'],
  ['YY', '%y'],
  ['MM', '%m'],
  ['DDD', '%j'],
  ['DD', '%d'],
  ['Mon', '%b'],
  ['Dy', '%a'],
  ['AM', '%p'],
  ['PM', '%p'],
];

/** With FM (fill mode): no zero padding, and month and day names unpadded. */
const FM_PATTERNS: [string, string][] = [
  ['HH24', '%-H'],
  ['HH12', '%-I'],
  ['HH', '%-I'],
  ['MI', '%-M'],
  ['SS', '%-S'],
  ['YY', '%-y'],
  ['MM', '%-m'],
  ['DDD', '%-j'],
  ['DD', '%-d'],
  ['Month', '%B'],
  ['Day', '%A'],
];

/** PostgreSQL's other patterns and modifiers: refused, since strftime cannot give their text. */
const REFUSED = [
  'SSSSS',
  'SSSS',
  'FF1',
  'FF2',
  'FF3',
  'FF4',
  'FF5',
  'FF6',
  'A.M.',
  'P.M.',
  'a.m.',
  'p.m.',
  'am',
  'pm',
  'Y,YYY',
  'IYYY',
  'IYY',
  'IY',
  'YYY',
  'B.C.',
  'A.D.',
  'b.c.',
  'a.d.',
  'BC',
  'AD',
  'bc',
  'ad',
  'MONTH',
  'Month',
  'month',
  'MON',
  'mon',
  'DAY',
  'Day',
  'day',
  'DY',
  'dy',
  'IDDD',
  'ID',
  'IW',
  'WW',
  'W',
  'CC',
  'J',
  'Q',
  'RM',
  'rm',
  'TZH',
  'TZM',
  'TZ',
  'tz',
  'OF',
  'TH',
  'th',
  'FX',
  'TM',
  'SP',
  'Y',
  'D',
  'I',
];

const at = (t: string, i: number, p: string): boolean => t.startsWith(p, i);

/** The strftime format for a to_char template, or an error message naming what it cannot read. */
export function toCharFormat(template: string): { format: string } | { error: string } {
  let out = '';
  for (let i = 0; i < template.length; ) {
    const c = template[i]!;
    if (c === '"') {
      // Quoted text, as it is (a backslash escapes a quote inside).
      let j = i + 1;
      for (; j < template.length && template[j] !== '"'; j++) {
        if (template[j] === '\\' && j + 1 < template.length) j++;
        out += template[j] === '%' ? '%%' : template[j];
      }
      i = j + 1;
      continue;
    }
    const fm = at(template, i, 'FM');
    const from = fm ? i + 2 : i;
    // The longest pattern at this place, as PostgreSQL reads them ('Month' before 'Mon').
    const hit = (fm ? FM_PATTERNS : PATTERNS).find(([p]) => at(template, from, p));
    const refused = REFUSED.filter((p) => at(template, from, p)).sort((a, b) => b.length - a.length)[0];
    if (hit && !(refused && refused.length > hit[0].length)) {
      out += hit[1];
      i = from + hit[0].length;
      continue;
    }
    if (fm || refused) {
      const what = `${fm ? 'FM' : ''}${refused ?? template.slice(from, from + 4)}`;
      const why =
        refused === 'Month' || refused === 'Day'
          ? ` (it pads the name to 9 characters: write FM${refused})`
          : ` (patterns: ${PATTERNS.map(([p]) => p).join(' ')}, FM with ${FM_PATTERNS.map(([p]) => p).join(' ')}, "quoted text"; or use strftime)`;
      return { error: `to_char: ${what} is not supported${why}` };
    }
    out += c === '%' ? '%%' : c;
    i++;
  }
  return { format: out };
}
