// TPC-H-shaped tables and the 22 TPC-H queries, for comparing eau2's SQL with DuckDB's
// (test/dataframe/tpch-duckdb.test.ts, bench/dataframe/tpch.ts). The tables are generated from a
// seed, never downloaded (scale 1 here is 6,000 orders, about a thousandth of dbgen's SF 1): the
// TPC-H schema (column names and types), keys that join as the benchmark's do, and values drawn so
// that every query's filters keep some rows. The queries are the specification's, with its
// substitution parameters' defaults, and Q1's `INTERVAL '90' DAY (3)` without its precision, which
// DuckDB does not read.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../app/apps/random.js';
import type { DataFrame, Value } from '../../dataframe/index.js';
import { formatDate } from '../../dataframe/temporal.js';

/** Column names and SQL types of each table (DuckDB's types; eau2 infers the same from the CSV). */
export const TPCH_TABLES: Record<string, [string, string][]> = {
  region: [
    ['r_regionkey', 'INTEGER'],
    ['r_name', 'VARCHAR'],
    ['r_comment', 'VARCHAR'],
  ],
  nation: [
    ['n_nationkey', 'INTEGER'],
    ['n_name', 'VARCHAR'],
    ['n_regionkey', 'INTEGER'],
    ['n_comment', 'VARCHAR'],
  ],
  supplier: [
    ['s_suppkey', 'INTEGER'],
    ['s_name', 'VARCHAR'],
    ['s_address', 'VARCHAR'],
    ['s_nationkey', 'INTEGER'],
    ['s_phone', 'VARCHAR'],
    ['s_acctbal', 'DOUBLE'],
    ['s_comment', 'VARCHAR'],
  ],
  customer: [
    ['c_custkey', 'INTEGER'],
    ['c_name', 'VARCHAR'],
    ['c_address', 'VARCHAR'],
    ['c_nationkey', 'INTEGER'],
    ['c_phone', 'VARCHAR'],
    ['c_acctbal', 'DOUBLE'],
    ['c_mktsegment', 'VARCHAR'],
    ['c_comment', 'VARCHAR'],
  ],
  part: [
    ['p_partkey', 'INTEGER'],
    ['p_name', 'VARCHAR'],
    ['p_mfgr', 'VARCHAR'],
    ['p_brand', 'VARCHAR'],
    ['p_type', 'VARCHAR'],
    ['p_size', 'INTEGER'],
    ['p_container', 'VARCHAR'],
    ['p_retailprice', 'DOUBLE'],
    ['p_comment', 'VARCHAR'],
  ],
  partsupp: [
    ['ps_partkey', 'INTEGER'],
    ['ps_suppkey', 'INTEGER'],
    ['ps_availqty', 'INTEGER'],
    ['ps_supplycost', 'DOUBLE'],
    ['ps_comment', 'VARCHAR'],
  ],
  orders: [
    ['o_orderkey', 'INTEGER'],
    ['o_custkey', 'INTEGER'],
    ['o_orderstatus', 'VARCHAR'],
    ['o_totalprice', 'DOUBLE'],
    ['o_orderdate', 'DATE'],
    ['o_orderpriority', 'VARCHAR'],
    ['o_clerk', 'VARCHAR'],
    ['o_shippriority', 'INTEGER'],
    ['o_comment', 'VARCHAR'],
  ],
  lineitem: [
    ['l_orderkey', 'INTEGER'],
    ['l_partkey', 'INTEGER'],
    ['l_suppkey', 'INTEGER'],
    ['l_linenumber', 'INTEGER'],
    ['l_quantity', 'DOUBLE'],
    ['l_extendedprice', 'DOUBLE'],
    ['l_discount', 'DOUBLE'],
    ['l_tax', 'DOUBLE'],
    ['l_returnflag', 'VARCHAR'],
    ['l_linestatus', 'VARCHAR'],
    ['l_shipdate', 'DATE'],
    ['l_commitdate', 'DATE'],
    ['l_receiptdate', 'DATE'],
    ['l_shipinstruct', 'VARCHAR'],
    ['l_shipmode', 'VARCHAR'],
    ['l_comment', 'VARCHAR'],
  ],
};

const REGIONS = ['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'];
const NATIONS: [string, number][] = [
  ['ALGERIA', 0],
  ['ARGENTINA', 1],
  ['BRAZIL', 1],
  ['CANADA', 1],
  ['EGYPT', 4],
  ['ETHIOPIA', 0],
  ['FRANCE', 3],
  ['GERMANY', 3],
  ['INDIA', 2],
  ['INDONESIA', 2],
  ['IRAN', 4],
  ['IRAQ', 4],
  ['JAPAN', 2],
  ['JORDAN', 4],
  ['KENYA', 0],
  ['MOROCCO', 0],
  ['MOZAMBIQUE', 0],
  ['PERU', 1],
  ['CHINA', 2],
  ['ROMANIA', 3],
  ['SAUDI ARABIA', 4],
  ['VIETNAM', 2],
  ['RUSSIA', 3],
  ['UNITED KINGDOM', 3],
  ['UNITED STATES', 1],
];
const WORDS = [
  'special',
  'requests',
  'pending',
  'deposits',
  'furious',
  'ironic',
  'express',
  'carefully',
  'green',
  'blue',
];
const COLORS = ['almond', 'antique', 'aquamarine', 'azure', 'beige', 'forest', 'green', 'lime', 'navy', 'red'];
const TYPES: string[][] = [
  ['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'],
  ['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'],
  ['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'],
];
const CONTAINERS: string[][] = [
  ['SM', 'LG', 'MED', 'JUMBO', 'WRAP'],
  ['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'],
];
const SEGMENTS = ['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'];
const PRIORITIES = ['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'];
const MODES = ['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'];
const INSTRUCTIONS = ['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'];
/** Days from 1992-01-01 to 1995-06-17, the date TPC-H's line status and return flags turn on. */
const CURRENT = 1263;

/** Generates the tables as CSV files in `dir` (one per table, with a header). */
export async function writeTpch(dir: string, seed: number, scale = 1): Promise<void> {
  const rng = new Rng(seed);
  const day = (d: number): string => new Date(Date.UTC(1992, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
  const cents = (lo: number, hi: number): string => (rng.int(lo * 100, hi * 100) / 100).toFixed(2);
  const text = (): string => Array.from({ length: rng.int(2, 6) }, () => rng.pick(WORDS)).join(' ');
  const phone = (nation: number): string =>
    `${nation + 10}-${rng.int(100, 999)}-${rng.int(100, 999)}-${rng.int(1000, 9999)}`;
  const [suppliers, customers, parts, orders] = [100 * scale, 1500 * scale, 2000 * scale, 6000 * scale];
  const rows: Record<string, string[][]> = {
    region: REGIONS.map((r, i) => [String(i), r, text()]),
    nation: NATIONS.map(([n, r], i) => [String(i), n, String(r), text()]),
    supplier: [],
    customer: [],
    part: [],
    partsupp: [],
    orders: [],
    lineitem: [],
  };
  for (let s = 1; s <= suppliers; s++) {
    const n = rng.int(0, 24);
    const comment = rng.bool(0.05) ? `${text()} Customer ${text()} Complaints` : text();
    rows.supplier!.push([
      String(s),
      `Supplier#${String(s).padStart(9, '0')}`,
      text(),
      String(n),
      phone(n),
      cents(-999, 9999),
      comment,
    ]);
  }
  for (let c = 1; c <= customers; c++) {
    const n = rng.int(0, 24);
    rows.customer!.push([
      String(c),
      `Customer#${String(c).padStart(9, '0')}`,
      text(),
      String(n),
      phone(n),
      cents(-999, 9999),
      rng.pick(SEGMENTS),
      text(),
    ]);
  }
  const price: number[] = [0];
  for (let p = 1; p <= parts; p++) {
    const m = rng.int(1, 5);
    const retail = cents(900, 2000);
    price.push(Number(retail));
    rows.part!.push([
      String(p),
      `${rng.pick(COLORS)} ${rng.pick(COLORS)} ${rng.pick(COLORS)}`,
      `Manufacturer#${m}`,
      `Brand#${m}${rng.int(1, 5)}`,
      TYPES.map((t) => rng.pick(t)).join(' '),
      String(rng.int(1, 50)),
      CONTAINERS.map((c) => rng.pick(c)).join(' '),
      retail,
      text(),
    ]);
  }
  // Each part has four suppliers, spread as dbgen spreads them.
  const supplierOf = (p: number, j: number): number =>
    ((p + j * (suppliers / 4 + Math.floor((p - 1) / suppliers))) % suppliers) + 1;
  for (let p = 1; p <= parts; p++)
    for (let j = 0; j < 4; j++)
      rows.partsupp!.push([String(p), String(supplierOf(p, j)), String(rng.int(1, 9999)), cents(1, 1000), text()]);
  for (let o = 1; o <= orders; o++) {
    // A third of the customers place no order (TPC-H's c_custkey % 3 = 0), for Q13 and Q22.
    let c = rng.int(1, customers);
    if (c % 3 === 0) c = c === customers ? c - 1 : c + 1;
    const od = rng.int(0, 2405);
    let total = 0;
    let shipped = 0;
    const lines = rng.int(1, 7);
    for (let l = 1; l <= lines; l++) {
      const p = rng.int(1, parts);
      const q = rng.int(1, 50);
      const extended = price[p]! * q;
      const discount = rng.int(0, 10) / 100;
      const tax = rng.int(0, 8) / 100;
      const sd = od + rng.int(1, 121);
      const rd = sd + rng.int(1, 30);
      const status = sd > CURRENT ? 'O' : 'F';
      if (status === 'F') shipped++;
      total += extended * (1 + tax) * (1 - discount);
      rows.lineitem!.push([
        String(o),
        String(p),
        String(supplierOf(p, rng.int(0, 3))),
        String(l),
        q.toFixed(2),
        extended.toFixed(2),
        discount.toFixed(2),
        tax.toFixed(2),
        rd <= CURRENT ? rng.pick(['R', 'A']) : 'N',
        status,
        day(sd),
        day(od + rng.int(30, 90)),
        day(rd),
        rng.pick(INSTRUCTIONS),
        rng.pick(MODES),
        text(),
      ]);
    }
    rows.orders!.push([
      String(o),
      String(c),
      shipped === lines ? 'F' : shipped === 0 ? 'O' : 'P',
      total.toFixed(2),
      day(od),
      rng.pick(PRIORITIES),
      `Clerk#${String(rng.int(1, 50)).padStart(9, '0')}`,
      '0',
      text(),
    ]);
  }
  await mkdir(dir, { recursive: true });
  for (const [t, cols] of Object.entries(TPCH_TABLES))
    await writeFile(
      join(dir, `${t}.csv`),
      `${[cols.map((c) => c[0]).join(','), ...rows[t]!.map((r) => r.join(','))].join('\n')}\n`,
    );
}

export const TPCH_QUERIES: Record<number, string> = {
  1: `select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty, sum(l_extendedprice) as sum_base_price, sum(l_extendedprice * (1 - l_discount)) as sum_disc_price, sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge, avg(l_quantity) as avg_qty, avg(l_extendedprice) as avg_price, avg(l_discount) as avg_disc, count(*) as count_order from lineitem where l_shipdate <= date '1998-12-01' - interval '90' day group by l_returnflag, l_linestatus order by l_returnflag, l_linestatus`,
  2: `select s_acctbal, s_name, n_name, p_partkey, p_mfgr, s_address, s_phone, s_comment from part, supplier, partsupp, nation, region where p_partkey = ps_partkey and s_suppkey = ps_suppkey and p_size = 15 and p_type like '%BRASS' and s_nationkey = n_nationkey and n_regionkey = r_regionkey and r_name = 'EUROPE' and ps_supplycost = (select min(ps_supplycost) from partsupp, supplier, nation, region where p_partkey = ps_partkey and s_suppkey = ps_suppkey and s_nationkey = n_nationkey and n_regionkey = r_regionkey and r_name = 'EUROPE') order by s_acctbal desc, n_name, s_name, p_partkey limit 100`,
  3: `select l_orderkey, sum(l_extendedprice * (1 - l_discount)) as revenue, o_orderdate, o_shippriority from customer, orders, lineitem where c_mktsegment = 'BUILDING' and c_custkey = o_custkey and l_orderkey = o_orderkey and o_orderdate < date '1995-03-15' and l_shipdate > date '1995-03-15' group by l_orderkey, o_orderdate, o_shippriority order by revenue desc, o_orderdate limit 10`,
  4: `select o_orderpriority, count(*) as order_count from orders where o_orderdate >= date '1993-07-01' and o_orderdate < date '1993-07-01' + interval '3' month and exists (select * from lineitem where l_orderkey = o_orderkey and l_commitdate < l_receiptdate) group by o_orderpriority order by o_orderpriority`,
  5: `select n_name, sum(l_extendedprice * (1 - l_discount)) as revenue from customer, orders, lineitem, supplier, nation, region where c_custkey = o_custkey and l_orderkey = o_orderkey and l_suppkey = s_suppkey and c_nationkey = s_nationkey and s_nationkey = n_nationkey and n_regionkey = r_regionkey and r_name = 'ASIA' and o_orderdate >= date '1994-01-01' and o_orderdate < date '1994-01-01' + interval '1' year group by n_name order by revenue desc`,
  6: `select sum(l_extendedprice * l_discount) as revenue from lineitem where l_shipdate >= date '1994-01-01' and l_shipdate < date '1994-01-01' + interval '1' year and l_discount between 0.06 - 0.01 and 0.06 + 0.01 and l_quantity < 24`,
  7: `select supp_nation, cust_nation, l_year, sum(volume) as revenue from (select n1.n_name as supp_nation, n2.n_name as cust_nation, extract(year from l_shipdate) as l_year, l_extendedprice * (1 - l_discount) as volume from supplier, lineitem, orders, customer, nation n1, nation n2 where s_suppkey = l_suppkey and o_orderkey = l_orderkey and c_custkey = o_custkey and s_nationkey = n1.n_nationkey and c_nationkey = n2.n_nationkey and ((n1.n_name = 'FRANCE' and n2.n_name = 'GERMANY') or (n1.n_name = 'GERMANY' and n2.n_name = 'FRANCE')) and l_shipdate between date '1995-01-01' and date '1996-12-31') as shipping group by supp_nation, cust_nation, l_year order by supp_nation, cust_nation, l_year`,
  8: `select o_year, sum(case when nation = 'BRAZIL' then volume else 0 end) / sum(volume) as mkt_share from (select extract(year from o_orderdate) as o_year, l_extendedprice * (1 - l_discount) as volume, n2.n_name as nation from part, supplier, lineitem, orders, customer, nation n1, nation n2, region where p_partkey = l_partkey and s_suppkey = l_suppkey and l_orderkey = o_orderkey and o_custkey = c_custkey and c_nationkey = n1.n_nationkey and n1.n_regionkey = r_regionkey and r_name = 'AMERICA' and s_nationkey = n2.n_nationkey and o_orderdate between date '1995-01-01' and date '1996-12-31' and p_type = 'ECONOMY ANODIZED STEEL') as all_nations group by o_year order by o_year`,
  9: `select nation, o_year, sum(amount) as sum_profit from (select n_name as nation, extract(year from o_orderdate) as o_year, l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity as amount from part, supplier, lineitem, partsupp, orders, nation where s_suppkey = l_suppkey and ps_suppkey = l_suppkey and ps_partkey = l_partkey and p_partkey = l_partkey and o_orderkey = l_orderkey and s_nationkey = n_nationkey and p_name like '%green%') as profit group by nation, o_year order by nation, o_year desc`,
  10: `select c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) as revenue, c_acctbal, n_name, c_address, c_phone, c_comment from customer, orders, lineitem, nation where c_custkey = o_custkey and l_orderkey = o_orderkey and o_orderdate >= date '1993-10-01' and o_orderdate < date '1993-10-01' + interval '3' month and l_returnflag = 'R' and c_nationkey = n_nationkey group by c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment order by revenue desc, c_custkey limit 20`,
  11: `select ps_partkey, sum(ps_supplycost * ps_availqty) as value from partsupp, supplier, nation where ps_suppkey = s_suppkey and s_nationkey = n_nationkey and n_name = 'GERMANY' group by ps_partkey having sum(ps_supplycost * ps_availqty) > (select sum(ps_supplycost * ps_availqty) * 0.0001 from partsupp, supplier, nation where ps_suppkey = s_suppkey and s_nationkey = n_nationkey and n_name = 'GERMANY') order by value desc, ps_partkey`,
  12: `select l_shipmode, sum(case when o_orderpriority = '1-URGENT' or o_orderpriority = '2-HIGH' then 1 else 0 end) as high_line_count, sum(case when o_orderpriority <> '1-URGENT' and o_orderpriority <> '2-HIGH' then 1 else 0 end) as low_line_count from orders, lineitem where o_orderkey = l_orderkey and l_shipmode in ('MAIL', 'SHIP') and l_commitdate < l_receiptdate and l_shipdate < l_commitdate and l_receiptdate >= date '1994-01-01' and l_receiptdate < date '1994-01-01' + interval '1' year group by l_shipmode order by l_shipmode`,
  13: `select c_count, count(*) as custdist from (select c_custkey, count(o_orderkey) from customer left outer join orders on c_custkey = o_custkey and o_comment not like '%special%requests%' group by c_custkey) as c_orders (c_custkey, c_count) group by c_count order by custdist desc, c_count desc`,
  14: `select 100.00 * sum(case when p_type like 'PROMO%' then l_extendedprice * (1 - l_discount) else 0 end) / sum(l_extendedprice * (1 - l_discount)) as promo_revenue from lineitem, part where l_partkey = p_partkey and l_shipdate >= date '1995-09-01' and l_shipdate < date '1995-09-01' + interval '1' month`,
  15: `with revenue0 as (select l_suppkey as supplier_no, sum(l_extendedprice * (1 - l_discount)) as total_revenue from lineitem where l_shipdate >= date '1996-01-01' and l_shipdate < date '1996-01-01' + interval '3' month group by l_suppkey) select s_suppkey, s_name, s_address, s_phone, total_revenue from supplier, revenue0 where s_suppkey = supplier_no and total_revenue = (select max(total_revenue) from revenue0) order by s_suppkey`,
  16: `select p_brand, p_type, p_size, count(distinct ps_suppkey) as supplier_cnt from partsupp, part where p_partkey = ps_partkey and p_brand <> 'Brand#45' and p_type not like 'MEDIUM POLISHED%' and p_size in (49, 14, 23, 45, 19, 3, 36, 9) and ps_suppkey not in (select s_suppkey from supplier where s_comment like '%Customer%Complaints%') group by p_brand, p_type, p_size order by supplier_cnt desc, p_brand, p_type, p_size`,
  17: `select sum(l_extendedprice) / 7.0 as avg_yearly from lineitem, part where p_partkey = l_partkey and p_brand = 'Brand#23' and p_container = 'MED BOX' and l_quantity < (select 0.2 * avg(l_quantity) from lineitem where l_partkey = p_partkey)`,
  18: `select c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity) from customer, orders, lineitem where o_orderkey in (select l_orderkey from lineitem group by l_orderkey having sum(l_quantity) > 200) and c_custkey = o_custkey and o_orderkey = l_orderkey group by c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice order by o_totalprice desc, o_orderdate limit 100`,
  19: `select sum(l_extendedprice* (1 - l_discount)) as revenue from lineitem, part where (p_partkey = l_partkey and p_brand = 'Brand#12' and p_container in ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG') and l_quantity >= 1 and l_quantity <= 1 + 10 and p_size between 1 and 5 and l_shipmode in ('AIR', 'REG AIR') and l_shipinstruct = 'DELIVER IN PERSON') or (p_partkey = l_partkey and p_brand = 'Brand#23' and p_container in ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK') and l_quantity >= 10 and l_quantity <= 10 + 10 and p_size between 1 and 10 and l_shipmode in ('AIR', 'REG AIR') and l_shipinstruct = 'DELIVER IN PERSON') or (p_partkey = l_partkey and p_brand = 'Brand#34' and p_container in ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG') and l_quantity >= 20 and l_quantity <= 20 + 10 and p_size between 1 and 15 and l_shipmode in ('AIR', 'REG AIR') and l_shipinstruct = 'DELIVER IN PERSON')`,
  20: `select s_name, s_address from supplier, nation where s_suppkey in (select ps_suppkey from partsupp where ps_partkey in (select p_partkey from part where p_name like 'forest%') and ps_availqty > (select 0.5 * sum(l_quantity) from lineitem where l_partkey = ps_partkey and l_suppkey = ps_suppkey and l_shipdate >= date '1994-01-01' and l_shipdate < date '1994-01-01' + interval '1' year)) and s_nationkey = n_nationkey and n_name = 'CANADA' order by s_name`,
  21: `select s_name, count(*) as numwait from supplier, lineitem l1, orders, nation where s_suppkey = l1.l_suppkey and o_orderkey = l1.l_orderkey and o_orderstatus = 'F' and l1.l_receiptdate > l1.l_commitdate and exists (select * from lineitem l2 where l2.l_orderkey = l1.l_orderkey and l2.l_suppkey <> l1.l_suppkey) and not exists (select * from lineitem l3 where l3.l_orderkey = l1.l_orderkey and l3.l_suppkey <> l1.l_suppkey and l3.l_receiptdate > l3.l_commitdate) and s_nationkey = n_nationkey and n_name = 'SAUDI ARABIA' group by s_name order by numwait desc, s_name limit 100`,
  22: `select cntrycode, count(*) as numcust, sum(c_acctbal) as totacctbal from (select substring(c_phone from 1 for 2) as cntrycode, c_acctbal from customer where substring(c_phone from 1 for 2) in ('13', '31', '23', '29', '30', '18', '17') and c_acctbal > (select avg(c_acctbal) from customer where c_acctbal > 0.00 and substring(c_phone from 1 for 2) in ('13', '31', '23', '29', '30', '18', '17')) and not exists (select * from orders where o_custkey = c_custkey)) as custsale group by cntrycode order by cntrycode`,
};

/** A DuckDB cell as eau2 gives it: integers as numbers, dates as ISO text. */
export function duckCell(v: unknown): Value {
  if (typeof v === 'bigint') return Number(v);
  if (v !== null && typeof v === 'object' && 'days' in v) return formatDate((v as { days: number }).days);
  return v as Value;
}

/** A result's rows with its date columns as ISO text, as duckCell gives DuckDB's. */
export function isoRows(df: DataFrame): Value[][] {
  const dates = df.fields.map((f) => f.type === 'd');
  return [...df.rows()].map((r) => r.map((v, k) => (dates[k] && typeof v === 'number' ? formatDate(v) : v)));
}

/** Cells equal, doubles to a relative 1e-9 (sums in another order differ in their last bits). */
function sameCell(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  return a === b;
}

/** Rows equal cell by cell (sameCell). */
export function sameRow(a: readonly Value[], b: readonly Value[]): boolean {
  return a.length === b.length && a.every((v, k) => sameCell(v, b[k]!));
}
