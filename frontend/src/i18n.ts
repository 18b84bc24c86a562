// zh-CN first, English available. Every enum the API returns is shown as words, never raw.
import { ref } from "vue";

export type Lang = "zh-CN" | "en";
type Pair = [string, string];

const MESSAGES: Record<string, Pair> = {
  console: ["商家后台", "Merchant console"],
  overview: ["概览", "Overview"],
  products: ["商品", "Products"],
  live: ["直播", "Live"],
  orders: ["订单", "Orders"],
  compliance: ["合规", "Compliance"],
  audit: ["数据审计", "Data audit"],
  aftersales: ["售后", "After-sales"],
  marketing: ["营销", "Marketing"],
  finance: ["资金", "Finance"],
  coming_soon: ["即将上线", "Coming soon"],
  logout: ["退出登录", "Log out"],
  language: ["English", "中文"],
  loading: ["加载中…", "Loading…"],
  no_shop: ["您还没有店铺", "You have no shop yet"],
  create_shop: ["创建店铺", "Create a shop"],
  shop_name: ["店铺名称", "Shop name"],
  legal_name: ["经营主体", "Legal name"],
  license_no: ["营业执照号", "Licence number"],
  create: ["创建", "Create"],
  save: ["保存", "Save"],
  cancel: ["取消", "Cancel"],
  confirm: ["确定", "OK"],
  edit: ["编辑", "Edit"],
  delete: ["删除", "Delete"],
  search: ["搜索", "Search"],
  reset: ["重置", "Reset"],
  actions: ["操作", "Actions"],
  saved: ["已保存", "Saved"],
  required: ["必填", "Required"],
  // overview
  gmv_gross: ["成交金额（GMV）", "GMV (gross)"],
  gmv_net: ["净成交（扣退款）", "Net (after refunds)"],
  order_count: ["订单数", "Orders"],
  viewers_per_minute: ["每分钟在线人数", "Viewers per minute"],
  sales_by_day: ["每日成交", "Sales by day"],
  no_data: ["暂无数据", "No data yet"],
  yuan_unit: ["元", "CNY"],
  // products
  new_product: ["新建商品", "New product"],
  edit_product: ["编辑商品", "Edit product"],
  title: ["标题", "Title"],
  description: ["描述", "Description"],
  category: ["类目", "Category"],
  status: ["状态", "Status"],
  skus: ["规格（SKU）", "SKUs"],
  sku_name: ["规格名称", "SKU name"],
  price: ["价格（元）", "Price (CNY)"],
  stock: ["库存", "Stock"],
  add_sku: ["添加规格", "Add SKU"],
  images: ["商品图片", "Pictures"],
  upload_image: ["上传图片", "Upload picture"],
  image_hint: ["JPEG / PNG / WebP，最多 9 张，第一张为主图", "JPEG / PNG / WebP, up to 9; the first is the cover"],
  cover: ["主图", "Cover"],
  move_left: ["前移", "Move left"],
  move_right: ["后移", "Move right"],
  publish: ["发布", "Publish"],
  archive: ["归档", "Archive"],
  confirm_archive: ["确定归档该商品？归档后不能再编辑。", "Archive this product? It cannot be edited afterwards."],
  confirm_delete_image: ["确定删除这张图片？", "Delete this picture?"],
  compliance_findings: ["合规提示", "Compliance findings"],
  title_rule: ["标题须为 1–120 个字符", "Title must be 1-120 characters"],
  price_rule: ["请输入大于 0 的金额，最多两位小数", "Enter an amount above 0 with at most 2 decimals"],
  stock_rule: ["库存须为 0 或正整数", "Stock must be 0 or a whole number"],
  stock_change: ["库存增减", "Stock change"],
  // live
  sessions: ["直播场次", "Sessions"],
  schedule_session: ["预约直播", "Schedule a session"],
  scheduled_at: ["开播时间", "Starts at"],
  anchor: ["主播", "Anchor"],
  playback_url: ["播放地址（可选）", "Playback URL (optional)"],
  pick_time: ["选择日期时间", "Pick date and time"],
  open_desk: ["直播中控台", "Control desk"],
  open_room: ["打开直播间", "Open the live room"],
  start_live: ["开播", "Go live"],
  end_live: ["下播", "End live"],
  confirm_start: ["确定现在开播？", "Go live now?"],
  confirm_end: ["确定结束直播？结束后不能再开播。", "End this live? It cannot be restarted."],
  lineup: ["商品上架（排品）", "Lineup"],
  add_lineup: ["添加上架商品", "Add to lineup"],
  sku: ["商品规格", "SKU"],
  live_price: ["直播价（元）", "Live price (CNY)"],
  allocated: ["分配库存", "Units allocated"],
  per_buyer_limit: ["每人限购", "Limit per buyer"],
  sale_window: ["开售 / 停售时间", "Sale starts / ends"],
  sale_start: ["开售时间", "Sale starts"],
  sale_end: ["停售时间", "Sale ends"],
  stock_left: ["剩余库存", "Stock left"],
  pin: ["置顶讲解", "Pin"],
  unpin: ["取消置顶", "Unpin"],
  pinned: ["讲解中", "Pinned"],
  viewers: ["在线人数", "Viewers"],
  orders_arriving: ["实时订单", "Orders arriving"],
  chat: ["评论", "Chat"],
  remove: ["删除", "Remove"],
  mute: ["禁言", "Mute"],
  slow_mode: ["慢速模式", "Slow mode"],
  slow_off: ["关闭", "Off"],
  seconds: ["秒", "s"],
  removed: ["已删除", "Removed"],
  muted: ["已禁言", "Muted"],
  reason: ["原因", "Reason"],
  remove_reason_prompt: ["请输入删除原因", "Why remove this message?"],
  confirm_mute: ["确定禁言该用户？", "Mute this user?"],
  alerts: ["合规提醒", "Compliance alerts"],
  record_correction: ["记录更正", "Record a correction"],
  correction_prompt: ["请输入主播在直播中说的更正内容", "What did the anchor say on air to correct it?"],
  corrected: ["已更正", "Corrected"],
  no_sessions: ["还没有直播场次", "No sessions yet"],
  no_alerts: ["暂无提醒", "No alerts"],
  back: ["返回", "Back"],
  // orders
  order_no: ["订单号", "Order"],
  product: ["商品", "Product"],
  quantity: ["数量", "Qty"],
  amount: ["金额", "Amount"],
  buyer: ["买家", "Buyer"],
  placed_at: ["下单时间", "Placed"],
  session: ["场次", "Session"],
  all: ["全部", "All"],
  date_range: ["下单日期", "Order date"],
  start_date: ["开始日期", "From"],
  end_date: ["结束日期", "To"],
  search_placeholder: ["订单号 / 买家 / 运单号", "Order no. / buyer / tracking no."],
  export_csv: ["导出 CSV", "Export CSV"],
  ship: ["发货", "Ship"],
  ship_order: ["订单发货", "Ship the order"],
  carrier: ["快递公司", "Carrier"],
  tracking: ["运单号", "Tracking no."],
  shipped_ok: ["已发货", "Shipped"],
  packing_slip: ["打印发货单", "Packing slip"],
  cancel_order: ["取消订单", "Cancel order"],
  cancel_reason_prompt: ["请输入取消原因（将通知买家）", "Reason for cancelling (the buyer is told)"],
  cancel_reason: ["取消原因", "Reason"],
  cancel_words: ["原因说明", "In words"],
  cancel_words_rule: ["选择“其他”须说明原因（4–300 字）", "'Other' needs a reason in words (4-300 characters)"],
  cancel_note: ["已支付的订单将退还剩余金额；除“买家要求取消”外，买家将获得补偿。", "A paid order is refunded what is left; unless the buyer asked, the buyer is also compensated."],
  cancelled_ok: ["订单已取消", "Order cancelled"],
  address: ["收货地址", "Address"],
  // compliance
  script_check: ["话术检查", "Script checker"],
  script_placeholder: ["粘贴直播话术，检查违规用语（如“全网最低价”“最”“治疗”）", "Paste a script to check for prohibited claims"],
  check: ["检查", "Check"],
  no_findings: ["未发现问题", "No findings"],
  legal_basis: ["法律依据", "Legal basis"],
  suggestion: ["建议改为", "Suggested wording"],
  check_for_session: ["按场次检查（记入合规记录）", "Check for a session (kept on record)"],
  general_check: ["通用检查（不记录）", "General check (not recorded)"],
  // audit
  audit_report: ["数据审计报告", "Audit report"],
  full_report: ["查看完整报告", "Open the full report"],
  refunded: ["退款", "Refunded"],
  return_rate: ["退款率", "Refund rate"],
  brushing_periods: ["疑似刷单时段", "Suspected brushing periods"],
  flagged_groups: ["异常买家组", "Flagged buyer groups"],
  no_orders_yet: ["暂无订单，报告在有订单后生成", "No orders yet; the report appears once there are orders"],
  // after-sales
  open_cases: ["待处理", "Open"],
  case_no: ["售后单", "Case"],
  case_type: ["售后类型", "Type"],
  case_queue_hint: ["按截止时间排序；逾期未处理将自动按买家诉求处理", "Soonest deadline first; a deadline the shop misses decides for the buyer"],
  no_cases: ["暂无售后单", "No cases"],
  deadline: ["处理时限", "Deadline"],
  opened_at: ["申请时间", "Opened"],
  outcome: ["结果", "Outcome"],
  load_more: ["加载更多", "Load more"],
  asked: ["申请", "Asked"],
  units: ["件", "units"],
  awarded: ["另赔付", "awarded"],
  frozen_promises: ["下单时的承诺", "Promises frozen at order"],
  none: ["无", "None"],
  return_shipment: ["退货物流", "Return shipment"],
  approve: ["同意", "Approve"],
  offer_partial: ["部分退款", "Offer a partial refund"],
  refuse: ["拒绝", "Refuse"],
  confirm_return: ["确认收到退货并退款", "Goods received: refund"],
  return_address_hint: ["退货退款需填写退货地址，将发送给买家", "A return needs the address the buyer ships to"],
  receiver: ["收货人", "Recipient"],
  phone: ["手机号", "Phone"],
  province: ["省", "Province"],
  city: ["市", "City"],
  district: ["区/县", "District"],
  address_detail: ["详细地址", "Street address"],
  offer_amount: ["退款金额（元）", "Refund offered (CNY)"],
  refuse_reason: ["拒绝原因（买家可见，可申请平台介入）", "Reason (the buyer sees it and may escalate)"],
  note_to_buyer: ["给买家的说明（可选）", "Note to the buyer (optional)"],
  refuse_needs_reason: ["拒绝须说明原因", "A refusal needs a reason"],
  refuse_note: ["与订单承诺相矛盾的拒绝（如七天无理由期内）不被允许。", "A refusal that contradicts the order's promises (e.g. inside the no-reason window) is not allowed."],
  case_record: ["售后记录（买卖双方所见一致）", "Case record (the buyer sees the same)"],
  // promises
  promises: ["承诺", "Promises"],
  promise: ["承诺", "Promise"],
  declare_promise: ["新增承诺", "Declare a promise"],
  revise_promise: ["修改承诺（生成新版本）", "Change a promise (a new version)"],
  only_in_force: ["只看生效中", "In force only"],
  promise_hint: ["承诺由平台自动兑现：下单时冻结进订单，之后修改或撤回都不影响已下的订单。", "The platform keeps promises itself: each order freezes those in force; later changes never reach placed orders."],
  no_promises: ["还没有承诺", "No promises yet"],
  promise_in_force: ["生效中", "In force"],
  promise_withdrawn: ["已撤回", "Withdrawn"],
  promise_upcoming: ["未生效", "Not yet"],
  promise_ended: ["已结束", "Ended"],
  not_machine_enforced: ["仅记录", "Recorded only"],
  applies_to: ["适用范围", "Applies to"],
  version: ["版本", "Version"],
  in_force_period: ["有效期", "In force"],
  open_ended: ["长期有效", "Open-ended"],
  revise: ["修改", "Change"],
  withdraw: ["撤回", "Withdraw"],
  declare: ["发布承诺", "Declare"],
  confirm_withdraw: ["撤回后该承诺从现在起不再适用于新订单，已下的订单仍享有。确定撤回？", "From now on new orders will not carry it; orders already placed keep it. Withdraw?"],
  promise_kind: ["承诺类型", "Kind"],
  lineup_item_id: ["上架商品编号", "Lineup item id"],
  pp_days: ["保价天数", "Days protected"],
  pp_excludes_flash: ["秒杀价不触发保价", "Flash-sale prices do not count"],
  gift_sku: ["赠品（本店规格）", "Gift (one of your SKUs)"],
  gift_sku_or_name: ["选择规格，或在下方填写赠品名称", "Pick a SKU, or name the gift below"],
  gift_name: ["赠品名称", "Gift name"],
  gift_quantity: ["每单赠送数量", "Per order"],
  ship_hours: ["付款后几小时内发货", "Ships within (hours after payment)"],
  counterfeit_multiple: ["假一赔几", "Times the amount if counterfeit"],
  warranty_months: ["保修月数", "Warranty (months)"],
  return_exempt: ["不适用七天无理由（法定类别）", "Exempt from no-reason returns (lawful category)"],
  not_exempt: ["不豁免", "Not exempt"],
  exempt_reason: ["豁免理由（买家可见）", "Why (the buyer sees it)"],
  return_days: ["无理由退货天数（至少 7 天）", "No-reason return days (at least 7)"],
  commitment_text: ["承诺内容", "The commitment"],
  commitment_note: ["自由文本承诺会被记录并展示，但平台无法自动执行。", "Free-text commitments are recorded and shown, not enforced by machine."],
  ends_at_optional: ["结束时间（可选）", "Ends (optional)"],
  declare_note: ["承诺从现在起生效，不能删除；直播间置顶卡片会显示生效中的承诺。", "Takes effect now and cannot be deleted; the pinned card in the room shows promises in force."],
  revise_note: ["当前版本从现在起结束，新版本从现在起生效。", "The current version ends now and the new one starts now."],
};

const ENUMS: Record<string, Record<string, Pair>> = {
  order_status: {
    pending_payment: ["待支付", "Awaiting payment"], paid: ["待发货", "To ship"],
    shipped: ["已发货", "Shipped"], received: ["已收货", "Received"],
    cancelled: ["已取消", "Cancelled"], expired: ["已超时关闭", "Expired"],
  },
  product_status: {
    draft: ["未发布（待整改）", "Draft (fix to publish)"], active: ["已发布", "Published"],
    archived: ["已归档", "Archived"],
  },
  session_status: {
    scheduled: ["未开播", "Scheduled"], live: ["直播中", "Live"], ended: ["已结束", "Ended"],
  },
  sale_state: { upcoming: ["未开售", "Not on sale yet"], open: ["在售", "On sale"], ended: ["已停售", "Sale ended"] },
  category: {
    general: ["综合", "General"], apparel: ["服饰", "Apparel"], cosmetics: ["美妆", "Cosmetics"],
    food: ["食品", "Food"], health_food: ["保健食品", "Health food"],
    infant_formula: ["婴幼儿配方食品", "Infant formula"], appliance: ["家电", "Appliances"],
    digital: ["数码", "Digital"], jewelry: ["珠宝", "Jewellery"], home: ["家居", "Home"],
    medical_device: ["医疗器械", "Medical devices"],
  },
  severity: {
    violation: ["违规", "Violation"], warning: ["提醒", "Warning"], info: ["提示", "Note"],
    notice: ["提示", "Note"],
  },
  chat_status: { shown: ["已显示", "Shown"], held: ["待审核", "Held"], removed: ["已删除", "Removed"] },
  cancel_reason: {
    out_of_stock: ["缺货", "Out of stock"], buyer_asked: ["买家要求取消", "The buyer asked"],
    address_unreachable: ["地址无法送达", "Address unreachable"], suspected_fraud: ["疑似欺诈", "Suspected fraud"],
    other: ["其他", "Other"],
  },
  case_status: {
    awaiting_merchant: ["待商家处理", "Awaiting the shop"], awaiting_buyer: ["待买家确认", "Awaiting the buyer"],
    awaiting_return: ["待买家退货", "Awaiting the return"], return_shipped: ["退货待签收", "Return on its way"],
    refused: ["商家已拒绝", "Refused"], escalated: ["平台介入中", "With the platform"], closed: ["已关闭", "Closed"],
  },
  case_type: {
    refund_only: ["仅退款", "Refund only"], return_refund: ["退货退款", "Return and refund"],
    promise_breach: ["承诺未兑现", "Promise broken"], counterfeit: ["假货赔付", "Counterfeit claim"],
  },
  case_reason: {
    not_shipped: ["未发货", "Not shipped"], not_received: ["未收到货", "Not received"],
    no_reason: ["七天无理由", "No-reason return"], quality: ["质量问题", "Quality problem"],
    promise: ["违背承诺", "Broken promise"], counterfeit: ["疑似假货", "Counterfeit"],
  },
  case_actor: {
    buyer: ["买家", "Buyer"], merchant: ["商家", "Shop"], platform: ["平台（自动）", "Platform (automatic)"],
    operator: ["平台客服", "Platform operator"],
  },
  case_entry: {
    opened: ["发起售后", "opened the case"], return_address: ["提供退货地址", "gave the return address"],
    approved: ["同意", "approved"], refused: ["拒绝", "refused"], offered: ["提出部分退款", "offered a partial refund"],
    accepted: ["接受部分退款", "accepted the offer"], declined: ["拒绝部分退款", "declined the offer"],
    return_shipped: ["寄回商品", "shipped the return"], withdrawn: ["撤回申请", "withdrew the case"],
    return_received: ["确认收到退货", "received the return"], deadline: ["处理时限已到", "deadline passed"],
    refunded: ["已退款", "refunded"], message: ["留言", "message"], escalated: ["申请平台介入", "escalated"],
    decided: ["平台裁决", "platform decision"],
  },
  promise_kind: {
    price_protection: ["价格保护（保价）", "Price protection"], gift: ["赠品", "Gift"],
    shipping_deadline: ["发货时限", "Shipping deadline"], counterfeit_compensation: ["假一赔N", "Counterfeit compensation"],
    warranty: ["保修", "Warranty"], no_reason_return: ["无理由退货", "No-reason returns"], commitment: ["其他承诺（文字）", "Other (words)"],
  },
  promise_scope: { shop: ["全店", "Whole shop"], product: ["商品", "Product"], sku: ["规格", "SKU"], lineup_item: ["直播上架商品", "Lineup item"] },
  return_exemption: {
    custom_made: ["消费者定作的商品", "Made to order"], perishable: ["鲜活易腐的商品", "Perishable"],
    digital_unsealed: ["拆封的数字化商品", "Unsealed digital goods"], periodicals: ["报纸、期刊", "Periodicals"],
    confirmed: ["购买时确认不宜退货", "Confirmed at purchase"],
  },
  member_role: { owner: ["店主", "Owner"], staff: ["员工", "Staff"], anchor: ["主播", "Anchor"] },
};

export const CATEGORIES = Object.keys(ENUMS.category);
export const ORDER_STATUSES = Object.keys(ENUMS.order_status);

function initialLang(): Lang {
  if (typeof document === "undefined") return "zh-CN";
  return document.documentElement.lang === "en" ? "en" : "zh-CN";
}

export const lang = ref<Lang>(initialLang());

export function setLang(next: Lang): void {
  lang.value = next;
  document.documentElement.lang = next;
  document.cookie = `lp_lang=${next}; path=/; max-age=${365 * 86400}; samesite=lax`;
}

const pick = (pair: Pair): string => (lang.value === "en" ? pair[1] : pair[0]);

export function t(key: string): string {
  const pair = MESSAGES[key];
  return pair ? pick(pair) : key;
}

/** An enum value as words; an unknown value is shown as "—" plus the value, never silently raw. */
export function word(kind: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const pair = ENUMS[kind]?.[value];
  return pair ? pick(pair) : `— (${value})`;
}

export function hasWord(kind: string, value: string): boolean {
  return Boolean(ENUMS[kind]?.[value]);
}

export function enumValues(kind: string): string[] {
  return Object.keys(ENUMS[kind] ?? {});
}
